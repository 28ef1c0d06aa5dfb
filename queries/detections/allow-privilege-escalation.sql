/* ---
id: allow-privilege-escalation
title: Workload explicitly allows privilege escalation in a container
kind: detection
severity: low
needs_level: Request
area: privileged-workloads
controls:
- pci-dss-4.0:10.2.1.2
- pci-dss-4.0:10.2.1.7
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
references: [catalog:privileged-pod]
mitre: [T1548.001, T1611]
pattern: [namespace, object_name]
scope: event
description: >-
  A pod, a workload's pod template, or an ephemeral container added to a pod, sets
  securityContext.allowPrivilegeEscalation=true on a container that is not privileged (a privileged one is
  reported by privileged-container, and implies it). The setting leaves the process's no_new_privs flag off,
  so a setuid binary or file capability in the image raises a non-root process to root; the Pod Security
  Standards' restricted profile forbids it, so writing it explicitly is a deliberate opt-out of that control.
  Successful writes only. Low: it only matters together with a setuid binary and a way in, and many charts
  still set it. Pods made by the built-in controllers and kubelet mirror pods are skipped because the workload
  object that caused them is reported instead. Per-query exceptions (user or namespace) come from
  allow_query_list.
triage: >-
  `escalating_containers` names the containers, `resource` and `object_name` the pod or workload template,
  `user_name` and `user_agent` who wrote it. Most hits are chart defaults or old manifests applied by the
  deployer; it matters when the container runs as non-root with a setuid binary or file capability in its
  image, or when the write came from a person outside the release process. Compare with the manifest in Git
  (`kubectl get RESOURCE -n NS NAME -o yaml`) and see who else writes the object: `kanalytics sql --month
  YYYY-MM "SELECT request_ts, user_name, verb, user_agent FROM events WHERE namespace = 'NS' AND
  coalesce(object_name, request_object ->> '$.metadata.name') = 'NAME' AND verb IN ('create', 'update',
  'patch')"`.
remediation: >-
  Set `allowPrivilegeEscalation: false` in the chart values or manifest (with `runAsNonRoot: true` and
  `capabilities.drop: [ALL]`) and roll the workload out again. Enforce it with Pod Security: label the
  namespace `pod-security.kubernetes.io/enforce=restricted`, which rejects pods that do not set it to false. A
  workload that really needs it (sudo-based tooling) is recorded in `[allowlists.query_lists]
  allow-privilege-escalation` by namespace or deploying user, with the reason.
--- */
WITH w AS (
    SELECT *,
        list_filter(containers, lambda c: (c ->> '$.securityContext.allowPrivilegeEscalation') = 'true'
                                          AND (c ->> '$.securityContext.privileged') IS DISTINCT FROM 'true') AS hits
    FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} with allowPrivilegeEscalation: true in container(s) {}',
           coalesce(user_name, '(unknown user)'), verb_past, object_kind, coalesce(namespace, '-'),
           coalesce(object_ref, '?'),
           array_to_string(list_transform(hits, lambda c: coalesce(c ->> '$.name', '?')), ', ')) AS summary,
    list_transform(hits, lambda c: c ->> '$.name') AS escalating_containers,
    user_agent
FROM w
WHERE len(hits) > 0
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts, audit_id

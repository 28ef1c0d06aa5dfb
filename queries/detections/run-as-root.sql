/* ---
id: run-as-root
title: Workload explicitly runs a container as root
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
references: [panther:Kubernetes.PrivilegedPodCreated, catalog:root-pod]
mitre: [T1611, T1610]
pattern: [namespace, object_name]
scope: event
description: >-
  A pod, a workload's pod template, or an ephemeral container added to a pod, asks for a container to run as
  root: its effective runAsUser is 0 (the container's setting, else the pod's), or it sets no runAsUser and
  its effective runAsNonRoot is false. A container whose effective runAsNonRoot is true is not reported (the
  kubelet refuses to start it as root), nor one that only leaves the user to the image: that is most images
  and says nothing about intent. Successful writes only. Low: root in a container with the default
  capabilities is still confined by its namespaces; it is what turns a container escape or a writable hostPath
  into root on the node, so it is worth knowing, and privileged-container, dangerous-capabilities and
  hostpath-mount report the settings that break confinement. Pods made by the built-in controllers and kubelet
  mirror pods are skipped because the workload object that caused them is reported instead. Per-query
  exceptions (user or namespace) come from allow_query_list.
triage: >-
  Read the `root_containers` evidence: an init container that sets `runAsUser: 0` to chown a volume, a legacy
  image that cannot run unprivileged, or a third-party chart's agent are the common causes, and only matter
  more when the same workload also has host paths or added capabilities (hostpath-mount,
  privileged-container). Check `namespace` and `user_name` for a new application or a person overriding the
  user by hand. Follow-up: `kubectl get KIND -n NS NAME -o jsonpath='{.spec.template.spec.securityContext}'`
  together with each container's `securityContext` shows where root is asked for.
remediation: >-
  Remove the root request: set `runAsNonRoot: true` and a non-zero `runAsUser` on the pod, fix volume
  ownership with `fsGroup` instead of a root init container, and rebuild images to run as a numbered user.
  Enforce Pod Security `restricted` (which requires runAsNonRoot) on application namespaces. For a reviewed
  exception, add the namespace or deployer to `[allowlists.query_lists] run-as-root` with a reason.
--- */
WITH w AS (
    SELECT *,
        list_filter(
            list_transform(containers, lambda c: {
                'name': c ->> '$.name',
                'uid': TRY_CAST(coalesce(c ->> '$.securityContext.runAsUser',
                                         podspec ->> '$.securityContext.runAsUser') AS BIGINT),
                'non_root': coalesce(c ->> '$.securityContext.runAsNonRoot',
                                     podspec ->> '$.securityContext.runAsNonRoot')}),
            lambda s: (s.uid = 0 AND s.non_root IS DISTINCT FROM 'true')
                      OR (s.uid IS NULL AND s.non_root = 'false')) AS hits
    FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} running container(s) as root: {}', coalesce(user_name, '(unknown user)'), verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?'),
           array_to_string(list_transform(hits, lambda s: coalesce(s.name, '?')
               || CASE WHEN s.uid = 0 THEN ' (runAsUser: 0)' ELSE ' (runAsNonRoot: false)' END), ', ')) AS summary,
    list_transform(hits, lambda s: s.name) AS root_containers,
    user_agent
FROM w
WHERE len(hits) > 0
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts, audit_id

/* ---
id: privileged-container
title: Workload runs a privileged container
kind: detection
severity: high
needs_level: Request
area: privileged-workloads
controls:
- pci-dss-4.0:10.2.1.2
- pci-dss-4.0:10.2.1.7
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
references:
- elastic:Kubernetes Privileged Pod Created
- sigma:Privileged Container Deployed
- panther:Kubernetes.Pod.Privileged.Created
- splunk:Kubernetes Create or Update Privileged Pod
- datadog:New Kubernetes privileged pod created
- catalog:privileged-pod
mitre: [T1611, T1610]
pattern: [namespace, object_name]
scope: event
description: >-
  A pod, a workload's pod template, or an ephemeral container added to a pod, has a container with
  securityContext.privileged=true, judged on successful writes only (a refused create changes nothing; the
  Falco-parity falco-create-privileged-pod also counts refused pod creates). A privileged container has every
  capability and every host device, and no seccomp or AppArmor confinement: it is root on the node in one
  command (nsenter, mount the host disk), hence high. Pods made by the built-in controllers and kubelet mirror
  pods are skipped because the workload object that caused them is reported instead (workload_specs).
  Per-query exceptions (user or namespace) come from allow_query_list, e.g. the CNI and CSI agents.
triage: >-
  Read the `privileged_containers` and `images` evidence with `namespace` and `user_name`: CNI agents,
  kube-proxy, CSI node plugins, GPU device plugins and security agents run privileged by design from
  DaemonSets in their platform namespace, and Docker-in-Docker CI runners do for image builds. A privileged
  container in an application namespace, a generic image (alpine, ubuntu, a public tool image), or a person
  applying it with kubectl (`user_agent`) is the one-command way to root on the node. Follow-up: `kanalytics
  sql --month YYYY-MM "SELECT request_ts, user_name, subresource, request_uri FROM events WHERE namespace =
  'NS' AND object_name LIKE 'NAME%' AND subresource IN ('exec', 'attach') AND stage = 'ResponseComplete' ORDER
  BY request_ts"` shows whether anyone then ran commands in it.
remediation: >-
  If unauthorised, delete the workload and treat the nodes its pods ran on as compromised: cordon, drain and
  replace them, and rotate the credentials of the pods they hosted and of the node. Enforce Pod Security
  `baseline` (no privileged containers) outside the reviewed agent namespaces, and move CI image builds to a
  rootless builder (BuildKit rootless, kaniko). For a reviewed agent, add its namespace or deployer to
  `[allowlists.query_lists] privileged-container` with a reason.
--- */
WITH w AS (
    SELECT *,
        list_filter(containers, lambda c: (c ->> '$.securityContext.privileged') = 'true') AS hits
    FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} with privileged container(s) {}', coalesce(user_name, '(unknown user)'), verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?'),
           array_to_string(list_transform(hits, lambda c: coalesce(c ->> '$.name', '?')), ', ')) AS summary,
    list_transform(hits, lambda c: c ->> '$.name') AS privileged_containers,
    list_transform(hits, lambda c: c ->> '$.image') AS images,
    user_agent
FROM w
WHERE len(hits) > 0
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts, audit_id

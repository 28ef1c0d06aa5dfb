/* ---
id: hostipc-pod
title: Workload created with the host IPC namespace
kind: detection
severity: medium
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
- elastic:Kubernetes Pod Created With HostIPC
- panther:Kubernetes.Pod.Host.IPC
- panther:Kubernetes.PodUsingIPCNamespace
- catalog:hostipc-pod
mitre: [T1611, T1610]
pattern: [namespace, object_name]
scope: event
description: >-
  A pod, or a workload whose pod template, sets spec.hostIPC=true. The container shares the node's System V
  IPC and POSIX shared memory with every host process, so it can read or tamper with other workloads' shared
  memory; almost no application needs it. Compares the request body with the setting; pods made by the
  built-in controllers and kubelet mirror pods are skipped because the workload object that caused them is
  reported instead. Per-query exceptions (user or namespace) come from allow_query_list.
triage: >-
  Almost nothing needs the host IPC namespace: the known users are a few GPU sharing setups (NVIDIA MPS), some
  databases and legacy software using System V shared memory, deployed deliberately by the platform team. Look
  at `object_name`, `namespace` and `user_name` (deployer or a person with kubectl in `user_agent`), and check
  whether the same spec also asks for hostPID, privileged or host paths. Follow-up: `kanalytics sql --month
  YYYY-MM "SELECT request_ts, user_name, user_agent, request_object FROM events WHERE audit_id = 'AUDIT_ID'
  AND stage = 'ResponseComplete'"` shows the whole pod spec that was written.
remediation: >-
  If unauthorised, delete the workload and review the other pods of the nodes it ran on, whose shared memory
  it could read or alter (restart them and rotate secrets they held in memory if the pod was hostile). Enforce
  Pod Security `baseline`, which forbids hostIPC, on every namespace that has no reviewed need. For a reviewed
  workload, add its namespace or deployer to `[allowlists.query_lists] hostipc-pod` with the reason.
--- */
WITH w AS (
    SELECT * FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} with hostIPC: true (host IPC namespace)', user_name,
           verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?')) AS summary,
    user_agent
FROM w
WHERE (podspec ->> '$.hostIPC') = 'true'
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts

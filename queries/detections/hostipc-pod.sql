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

/* ---
id: hostpid-pod
title: Workload created with the host PID namespace
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
- elastic:Kubernetes Pod Created With HostPID
- panther:Kubernetes.Pod.Host.PID
- panther:GCP K8s Pod Using Host PID Namespace
- catalog:hostpid-pod
mitre: [T1611, T1610]
scope: event
description: >-
  A pod, or a workload whose pod template, sets spec.hostPID=true. A container in the node's PID namespace can
  see and signal every process on the node and, with enough privileges, enter them (nsenter): a classic
  container-escape step. Compares the request body with the setting; pods made by the built-in controllers and
  kubelet mirror pods are skipped because the workload object that caused them is reported instead. Per-query
  exceptions (user or namespace) come from allow_query_list.
triage: >-
  Look at `object_name`, `namespace` and the `user_agent` evidence: process-monitoring and security agents
  (Datadog, Sysdig, some EDR sensors) run as DaemonSets with hostPID in their own namespace, applied by the
  deployer, and `kubectl debug node/NODE` creates a `node-debugger-*` pod with hostPID for a person, which
  needs an approved reason (a ticket, an on-call page). Anything else created by a person or an application
  account is a container-escape step. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts,
  user_name, verb, resource, subresource, namespace, object_name FROM events WHERE user_name = 'USER' AND
  request_ts >= TIMESTAMPTZ 'TS' AND stage = 'ResponseComplete' ORDER BY request_ts LIMIT 200"` shows what the
  creator did next (an exec into the new pod is the usual next step).
remediation: >-
  If unauthorised, delete the pod and treat its node as compromised: cordon, drain and replace it, and rotate
  the credentials of the pods it hosted, whose processes and environment the pod could read. Enforce Pod
  Security `baseline` (which forbids hostPID) outside the reviewed agent namespaces, and limit `kubectl debug
  node` to break-glass accounts. For a reviewed agent, add its namespace or deployer to
  `[allowlists.query_lists] hostpid-pod` with a reason.
--- */
WITH w AS (
    SELECT * FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} with hostPID: true (host process namespace)', user_name,
           verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?')) AS summary,
    user_agent
FROM w
WHERE (podspec ->> '$.hostPID') = 'true'
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts

/* ---
id: host-network-pod
title: Workload uses the node's network namespace
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
- elastic:Kubernetes Pod Created With HostNetwork
- panther:Kubernetes.Pod.Host.Network
- splunk:Kubernetes Pod With Host Network Attachment
- datadog:Kubernetes Pod Created with hostNetwork
- catalog:hostnetwork-pod
mitre: [T1611, T1610]
pattern: [namespace, object_name]
scope: event
description: >-
  A pod, or a workload whose pod template, sets spec.hostNetwork=true, judged on successful writes only (the
  Falco-parity falco-create-hostnetwork-pod also counts refused pod creates). The pod shares the node's
  network stack: it reaches services bound to the node's loopback (kubelet, container runtime metrics), the
  cloud instance metadata endpoint even where a hop limit keeps other pods away from it, and any node port;
  NetworkPolicy does not apply to it, and with NET_RAW it sees the node's traffic. Medium: it is a step
  towards the node, not code on it, and CNI, ingress and monitoring agents use it by design. Pods made by the
  built-in controllers and kubelet mirror pods are skipped because the workload object that caused them is
  reported instead. Per-query exceptions (user or namespace) come from allow_query_list.
triage: >-
  Read the `images` evidence with `namespace` and `object_name`: CNI agents (calico-node, cilium, aws-node),
  kube-proxy, ingress controllers and node exporters run as DaemonSets in their platform namespace with
  hostNetwork by design, applied by the deployer or GitOps `user_name`. A Deployment or bare pod in an
  application namespace, an image from a personal or public registry, or a person applying it with kubectl
  (`user_agent`) is the suspicious case. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, verb,
  resource, namespace, object_name, user_agent FROM events WHERE user_name = 'USER' AND stage =
  'ResponseComplete' AND request_object LIKE '%hostNetwork%' ORDER BY request_ts"` lists that identity's other
  host-network writes.
remediation: >-
  If unauthorised, delete the workload, then assume what it could reach was exposed: services on the node's
  loopback and, where the cloud metadata endpoint was reachable, the node's instance credentials (rotate the
  node role's sessions, replace the node). Enforce Pod Security `baseline` (which forbids hostNetwork) with
  the `pod-security.kubernetes.io/enforce` label on application namespaces, exempting only the platform ones.
  For a known agent, add its namespace or deployer to `[allowlists.query_lists] host-network-pod` with a
  reason.
--- */
WITH w AS (
    SELECT * FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} with hostNetwork: true (node network namespace)', coalesce(user_name, '(unknown user)'),
           verb_past, object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?')) AS summary,
    list_transform(containers, lambda c: c ->> '$.image') AS images,
    user_agent
FROM w
WHERE (podspec ->> '$.hostNetwork') = 'true'
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts, audit_id

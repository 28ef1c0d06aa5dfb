/* ---
id: hostpath-mount-other
title: Workload mounts a host path
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
references:
- sigma:Container With A hostPath Mount Created
- panther:Kubernetes.Pod.HostPath.Volume
- catalog:hostpath-mount
mitre: [T1611, T1610]
pattern: [namespace, object_name]
scope: event
description: >-
  A pod, a workload's pod template, or an ephemeral container added to a pod, mounts a host path that is not
  one of the sensitive ones (is_sensitive_host_path: those are hostpath-mount, high): /var/log, certificate
  folders, device-plugin sockets, CNI folders, a data directory. A hostPath volume still ties the pod to the
  node and reaches past the pod's own storage: node logs hold every container's output, a writable folder
  survives the pod and is shared with whatever else mounts it. Low: log shippers, CNI and storage agents do
  this by design, and a workload with a sensitive path too is reported once, by hostpath-mount. Successful
  writes only; pods made by the built-in controllers and kubelet mirror pods are skipped because the workload
  object that caused them is reported instead. Per-query exceptions (user or namespace) come from
  allow_query_list.
triage: >-
  Read the `host_paths` evidence: log shippers (fluent-bit, promtail, vector) mounting `/var/log`, CNI agents
  mounting `/etc/cni` or `/opt/cni`, and certificate or time-zone folders are expected from platform
  DaemonSets. An application Deployment with a writable host folder (`/tmp`, `/data`, `/mnt/...`) keeps data
  on the node beyond the pod and shares it with whatever else mounts it, and `/var/log` mounted writable lets
  a pod rewrite other containers' logs. Follow-up: `kubectl get KIND -n NS NAME -o
  jsonpath='{.spec.template.spec.volumes}'` (for a pod `{.spec.volumes}`) shows the paths with their type, and
  the container's volumeMounts whether they are readOnly.
remediation: >-
  If unwanted, replace the host path with a PersistentVolumeClaim or an emptyDir and mount what must stay
  readOnly; if the workload looks hostile, delete it and check the node folder it wrote to. Pod Security
  `baseline` forbids hostPath volumes altogether; where some are needed, an admission rule (Kyverno or
  Gatekeeper host-filesystem policy) can allow only named prefixes, read-only. For reviewed agents, add their
  namespace or deployer to `[allowlists.query_lists] hostpath-mount-other`.
--- */
WITH w AS (
    SELECT *, coalesce(json_extract_string(podspec, '$.volumes[*].hostPath.path'), []) AS host_paths
    FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} mounting host path(s) {}', coalesce(user_name, '(unknown user)'),
           verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?'),
           array_to_string(host_paths, ', ')) AS summary,
    host_paths, user_agent
FROM w
WHERE len(host_paths) > 0
  AND NOT list_bool_or(list_transform(host_paths, lambda p: coalesce(is_sensitive_host_path(p), false)))
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts, audit_id

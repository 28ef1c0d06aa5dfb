/* ---
id: hostpath-mount
title: Workload mounts a sensitive host path
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
- elastic:Kubernetes Pod Created with a Sensitive hostPath Volume
- sigma:Container With A hostPath Mount Created
- panther:Kubernetes.Pod.HostPath.Volume
- panther:GCP K8S Pod Create Or Modify Host Path Volume Mount
- catalog:hostpath-mount
mitre: [T1611, T1610]
pattern: [namespace, object_name]
scope: event
description: >-
  A pod, a workload's pod template, or an ephemeral container added to a pod, mounts a sensitive node path as
  a hostPath volume (is_sensitive_host_path, where the set and the reasons live: the root filesystem and the
  system directories themselves, container runtime sockets and state, kubelet and etcd state, host credentials
  and cron or systemd folders). Such a mount gives the container the node's credentials or a way to run code
  as root on it. Any other host path (/var/log for log shippers, device-plugin sockets, CNI folders) is
  reported at low severity by hostpath-mount-other instead. Successful writes only; pods made by the built-in
  controllers and kubelet mirror pods are skipped because the workload object that caused them is reported
  instead. Per-query exceptions (user or namespace) come from allow_query_list.
triage: >-
  The `sensitive_paths` evidence says what the container gets: `/` or `/etc` (every node file, with the
  kubelet's credentials), a container runtime socket (start any container on the node), `/var/lib/kubelet` or
  `/etc/kubernetes` (the kubelet's client certificate and every pod's tokens). Security and monitoring agents,
  node-problem-detector and CSI node plugins mount some of these from a DaemonSet in their own namespace,
  applied by the deployer; a pod named `node-debugger-*` is a person's `kubectl debug node/...` (it mounts `/`
  at /host), and any other pod from kubectl with a generic image (alpine, busybox, ubuntu) is the classic
  mount-the-host escape. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name,
  subresource, request_uri FROM events WHERE namespace = 'NS' AND object_name LIKE 'NAME%' AND subresource IN
  ('exec', 'attach') AND stage = 'ResponseComplete' ORDER BY request_ts"` shows whether someone then ran
  commands in it.
remediation: >-
  If unauthorised, delete the workload and treat every node it ran on as compromised: cordon and drain it,
  replace it rather than clean it, and rotate the Secrets and service-account tokens of the pods it hosted and
  the node's own credentials. Enforce Pod Security `baseline` (no hostPath volumes) on every namespace except
  the reviewed agent namespaces, and keep `kubectl debug node` for break-glass accounts. For a reviewed agent,
  add its namespace or deployer to `[allowlists.query_lists] hostpath-mount` with a reason.
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
           array_to_string(sensitive_paths, ', ')) AS summary,
    sensitive_paths, host_paths, user_agent
FROM (
    SELECT *, list_filter(host_paths, lambda p: is_sensitive_host_path(p)) AS sensitive_paths
    FROM w
) w
WHERE len(sensitive_paths) > 0
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts, audit_id

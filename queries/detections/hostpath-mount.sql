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
description: >-
  A pod, or a workload whose pod template, mounts a sensitive node directory as a hostPath volume: the root
  filesystem, /etc, /proc, /root, /var, the container runtime sockets, kubelet or etcd state, or
  /etc/kubernetes. Such a mount gives the container the node's credentials and usually root on the node.
  Harmless paths (/var/log for log shippers, device plugins) are not reported. Compares the request body with
  the setting; pods made by the built-in controllers and kubelet mirror pods are skipped because the workload
  object that caused them is reported instead. Per-query exceptions (user or namespace) come from
  allow_query_list.
--- */
WITH w AS (
    SELECT * FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ips[1] AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} mounting host path(s) {}', user_name,
           verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?'),
           array_to_string(sensitive_paths, ', ')) AS summary,
    sensitive_paths, user_agent
FROM (
    SELECT *,
        list_filter(json_extract_string(podspec, '$.volumes[*].hostPath.path'),
            lambda p: regexp_full_match(CASE WHEN p = '/' THEN p ELSE rtrim(p, '/') END,
                '/|/boot|/dev|/etc|/home|/proc|/root|/run|/sys|/usr|/var|/var/run|/var/lib'
                || '|(/var/run/docker\.sock|/run/docker\.sock|/var/run/containerd|/run/containerd|/var/run/crio'
                || '|/run/crio|/var/run/cri-dockerd\.sock|/var/lib/kubelet|/var/lib/docker|/var/lib/containerd'
                || '|/etc/kubernetes|/var/lib/etcd|/etc/shadow|/etc/sudoers|/root/.+|/home/.+)(/.*)?')) AS sensitive_paths
    FROM w
) w
WHERE len(sensitive_paths) > 0
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts

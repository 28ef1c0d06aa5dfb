/* ---
id: dangerous-capabilities
title: Container adds dangerous Linux capabilities
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
- elastic:Kubernetes Container Created with Excessive Linux Capabilities
- sigma:Privileged Container Deployed
- panther:Kubernetes.Pod.Dangerous.Capabilities
- panther:Kubernetes.OverlyPermissivePod
- catalog:dangerous-capabilities
mitre: [T1611, T1610]
description: >-
  A container, init container or ephemeral container of a pod (or pod template) adds a Linux capability that
  breaks container isolation: SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, SYS_BOOT, BPF, PERFMON,
  DAC_READ_SEARCH, DAC_OVERRIDE, NET_ADMIN, SYSLOG or ALL. These allow loading kernel modules, reading any
  file, tracing host processes or reconfiguring the node network. Compares the request body with the setting;
  pods made by the built-in controllers and kubelet mirror pods are skipped because the workload object that
  caused them is reported instead. Per-query exceptions (user or namespace) come from allow_query_list.
--- */
WITH w AS (
    SELECT * FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ips[1] AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} adding capabilities {}', user_name,
           verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?'),
           array_to_string(caps, ', ')) AS summary,
    caps AS capabilities, user_agent
FROM (
    SELECT *,
        list_distinct(list_filter(
            list_transform(json_extract_string(podspec, '$.*[*].securityContext.capabilities.add[*]'),
                           lambda c: upper(regexp_replace(c, '^CAP_', ''))),
            lambda c: c IN ('SYS_ADMIN', 'SYS_MODULE', 'SYS_PTRACE', 'SYS_RAWIO', 'SYS_BOOT', 'BPF', 'PERFMON',
                       'DAC_READ_SEARCH', 'DAC_OVERRIDE', 'NET_ADMIN', 'SYSLOG', 'ALL'))) AS caps
    FROM w
) w
WHERE len(caps) > 0
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts

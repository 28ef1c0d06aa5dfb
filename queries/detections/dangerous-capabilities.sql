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
pattern: [namespace, object_name]
scope: event
description: >-
  A container, init container or ephemeral container of a pod (or pod template, or one added to a running pod)
  adds a Linux capability that breaks container isolation: SYS_ADMIN (mounts, namespaces, the cgroup
  release_agent escape), SYS_MODULE (kernel modules), SYS_PTRACE (inject into processes, the node's with
  hostPID), SYS_RAWIO (raw device and memory I/O), SYS_BOOT (reboot, kexec), SYS_TIME (the node's clock, which
  is not namespaced), BPF and PERFMON (kernel tracing and eBPF programs, kernel memory), DAC_READ_SEARCH
  (open_by_handle_at, the "shocker" escape that reads host files), NET_ADMIN (the node's routes and firewall
  with hostNetwork, traffic interception), SYSLOG (kernel log and addresses), MAC_ADMIN and MAC_OVERRIDE
  (AppArmor and SELinux policy), or ALL. Capabilities that the container runtimes grant by default (Docker and
  containerd: NET_RAW, DAC_OVERRIDE, CHOWN, SETUID ...) are not reported: adding one explicitly grants nothing
  new where it matters most, and NET_RAW is what ping needs. Successful writes only; pods made by the built-in
  controllers and kubelet mirror pods are skipped because the workload object that caused them is reported
  instead. Per-query exceptions (user or namespace) come from allow_query_list.
--- */
WITH w AS (
    SELECT * FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} adding capabilities {}', coalesce(user_name, '(unknown user)'),
           verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?'),
           array_to_string(caps, ', ')) AS summary,
    caps AS capabilities, user_agent
FROM (
    SELECT *,
        list_sort(list_distinct(list_filter(
            list_transform(
                flatten(list_transform(containers, lambda c:
                    coalesce(json_extract_string(c, '$.securityContext.capabilities.add[*]'), []))),
                lambda c: upper(regexp_replace(c, '^(?i)CAP_', ''))),
            lambda c: c IN ('SYS_ADMIN', 'SYS_MODULE', 'SYS_PTRACE', 'SYS_RAWIO', 'SYS_BOOT', 'SYS_TIME', 'BPF',
                            'PERFMON', 'DAC_READ_SEARCH', 'NET_ADMIN', 'SYSLOG', 'MAC_ADMIN', 'MAC_OVERRIDE',
                            'ALL')
                      -- what `kubectl debug --profile=general` gives a debug container to trace the pod's own
                      -- processes; ephemeral-container reports the debug session itself
                      AND NOT (c = 'SYS_PTRACE' AND debug_container)))) AS caps
    FROM w
) w
WHERE len(caps) > 0
  AND NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts, audit_id

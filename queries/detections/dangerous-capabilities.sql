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
triage: >-
  The `capabilities` evidence lists what is added, `resource` and `object_name` the pod or workload,
  `user_name` who wrote it. Expected: node-level software installed from its chart by the deployer: CNI and
  service-mesh init containers (NET_ADMIN), eBPF and security agents such as Cilium or Falco (SYS_ADMIN, BPF,
  PERFMON, SYS_PTRACE), storage drivers (SYS_ADMIN), VPN sidecars (NET_ADMIN); suspicious: SYS_ADMIN,
  SYS_MODULE or ALL on an application pod, or any of them written by a person. Read the security context with
  `kubectl get RESOURCE -n NS NAME -o yaml` (capabilities with hostPID or hostPath make an escape
  straightforward) and check the other specs its writer produced: `kanalytics sql --month YYYY-MM "SELECT
  request_ts, verb, resource, namespace, object_name FROM events WHERE user_name = 'USER' AND resource IN
  ('pods', 'deployments', 'daemonsets', 'statefulsets', 'jobs', 'cronjobs')"`.
remediation: >-
  Remove the capabilities (drop ALL, add back only what the process needs) and delete pods started with them;
  if SYS_ADMIN, SYS_MODULE or ALL ran in an unexpected pod, cordon, drain and replace its node. Enforce Pod
  Security baseline, which allows only the runtime's default capabilities, or restricted (only
  NET_BIND_SERVICE), and exempt just the agents' namespaces. Those namespaces or the deploying user go into
  `[allowlists.query_lists] dangerous-capabilities`, with the reason.
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

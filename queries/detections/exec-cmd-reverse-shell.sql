/* ---
id: exec-cmd-reverse-shell
title: Exec command looks like a reverse shell
kind: detection
severity: critical
needs_level: Metadata
area: exec
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.2.1.1
- soc2:CC6.1
references: [elastic:Kubernetes Pod Exec Potential Reverse Shell, catalog:exec-cmd-reverse-shell]
mitre: [T1609, T1059]
description: >-
  An exec session whose command line matches common reverse-shell idioms (/dev/tcp/, nc or ncat with -e or -c,
  mkfifo pipes, socat exec/pty, bash -i with redirected descriptors, python/perl/php socket one-liners). Such
  a command hands an outside host an interactive shell in the pod, outside the API server's audit trail.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} ran "{}" in pod {}/{} (reverse shell pattern)', user_name, command, namespace, object_name) AS summary,
    user_agent, response_code,
    command
FROM pod_exec_sessions e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND subresource = 'exec'
  AND regexp_matches(command, '(/dev/tcp/|/dev/udp/|\b(nc|ncat|netcat)\b.*\s-[ec]\b|mkfifo|socat\b.*(exec|pty)|bash -i\s*>&|sh -i\s*>&|socket\.socket|pty\.spawn|fsockopen|TCPSocket)')
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

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
triage: >-
  The `command` evidence holds the destination host and port of the shell: an address outside your networks is
  a true positive; the rare benign matches are an engineer upgrading a TTY with `python -c 'import pty;
  pty.spawn("/bin/bash")'` or a script that uses `mkfifo` for its own pipes. Weigh `user_name`, `source_ip`
  and the pod in `namespace`/`object_name`, and list every exec by that identity: `kanalytics sql --month
  YYYY-MM "SELECT DISTINCT request_ts, namespace, object_name, request_uri, source_ips FROM events WHERE
  user_name = 'USER' AND subresource = 'exec' ORDER BY request_ts"`.
remediation: >-
  Treat the pod as compromised: cut its network with a deny-all NetworkPolicy (keeping it for forensics) or
  delete it, block the destination at the firewall, revoke the exec user's credentials, and inspect the node
  if the pod was privileged or mounted host paths. Deny egress by default, keep shells and netcat out of
  production images, and limit pods/exec to the on-call group. Record a reviewed false positive with
  `kanalytics triage set FINDING_ID --verdict benign --note ... --by YOU` rather than allow-listing the
  identity in `[allowlists.query_lists] exec-cmd-reverse-shell`.
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

/* ---
id: exec-cmd-kubectl-cp
title: Files copied out of a pod (kubectl cp)
kind: detection
severity: medium
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
references: [panther:Kubernetes.Kubectl.CP.Operation, catalog:exec-cmd-kubectl-cp]
mitre: [T1609, T1005]
description: >-
  An exec session running "tar cf -", which is what kubectl cp does to copy files out of a container. Copying
  data out of production pods by hand is possible exfiltration and bypasses the application's own access
  logging.
triage: >-
  The `command` evidence (`tar cf - PATH`) shows what was copied out, `namespace` and `object_name` from which
  pod, `user_name` and `source_ip` by whom. Expected: an engineer pulling logs, a heap or core dump during an
  incident, or a backup job's service account copying the same path on a schedule; suspicious: database data
  directories, Secrets or home directories copied from production, at odd hours or from an unfamiliar address.
  List everything that identity copied this month: `kanalytics sql --month YYYY-MM "SELECT DISTINCT
  request_ts, namespace, object_name, request_uri FROM events WHERE user_name = 'USER' AND subresource =
  'exec' AND request_uri LIKE '%command=tar%' ORDER BY request_ts"`.
remediation: >-
  If it was not authorised, establish from the paths what data left and follow the data-breach procedure when
  it was regulated data; revoke the user's credentials and rotate any secrets the copied files held. Remove
  create on pods/exec from production roles and give engineers a sanctioned way to export logs and dumps. A
  backup job's identity goes into `[allowlists.query_lists] exec-cmd-kubectl-cp`, with the reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} ran "{}" in pod {}/{} (kubectl cp, copy out of the pod)', user_name, command, namespace, object_name) AS summary,
    user_agent, response_code,
    command
FROM pod_exec_sessions e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND subresource = 'exec'
  AND regexp_matches(command, '^tar c[a-z]*f -')
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

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

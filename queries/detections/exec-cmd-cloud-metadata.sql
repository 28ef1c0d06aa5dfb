/* ---
id: exec-cmd-cloud-metadata
title: Exec command queries the cloud instance metadata service
kind: detection
severity: high
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
references: [elastic:Kubernetes Pod Exec Cloud Instance Metadata Access, catalog:exec-cmd-cloud-metadata]
mitre: [T1552.005, T1609]
description: >-
  An exec session whose command line reaches the cloud instance metadata endpoint (169.254.169.254,
  metadata.google.internal, fd00:ec2::254, IMDS token or credential paths). From inside a pod this yields the
  node's cloud credentials, a path from a Kubernetes foothold to the cloud account.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} ran "{}" in pod {}/{} (cloud metadata access)', user_name, command, namespace, object_name) AS summary,
    user_agent, response_code,
    command
FROM pod_exec_sessions e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND subresource = 'exec'
  AND regexp_matches(command, '(169\.254\.169\.254|metadata\.google\.internal|fd00:ec2::254|/latest/api/token|/latest/meta-data|computeMetadata/v1|/metadata/identity/oauth2)')
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

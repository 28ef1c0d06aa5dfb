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
triage: >-
  The `command` evidence shows what was fetched: `/latest/meta-data/iam/security-credentials/`,
  `/latest/api/token` followed by credential paths, or `computeMetadata/v1/.../token` is credential theft,
  while instance-id or region reads are usually someone debugging. Weigh `user_name` and `source_ip`, and
  whether pods can reach the endpoint at all (IMDSv2 hop limit 1, GKE metadata concealment). List the
  identity's other exec commands: `kanalytics sql --month YYYY-MM "SELECT DISTINCT request_ts, namespace,
  object_name, request_uri FROM events WHERE user_name = 'USER' AND subresource = 'exec' ORDER BY
  request_ts"`; the cloud audit log (CloudTrail, GCP Audit Logs) shows whether the node's role was then used
  from elsewhere.
remediation: >-
  If credentials were read, revoke the node role's active sessions (AWS: revoke older sessions on the role;
  GCP: the tokens expire within the hour, so disable or narrow the node service account) and investigate what
  the role did from outside the node. Block pods from the metadata endpoint (IMDSv2 with hop limit 1, a
  NetworkPolicy denying egress to 169.254.169.254/32, GKE Workload Identity) and give workloads their own
  cloud identity (IRSA, EKS Pod Identity, Workload Identity); withdraw pods/exec from the identity if it was
  not entitled. A reviewed diagnostic identity goes into `[allowlists.query_lists] exec-cmd-cloud-metadata`.
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

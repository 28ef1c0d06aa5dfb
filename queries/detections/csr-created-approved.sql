/* ---
id: csr-created-approved
title: Certificate signing request created or approved by a person or workload
kind: detection
severity: high
needs_level: Metadata
area: rbac
controls:
- pci-dss-4.0:10.2.1.5
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.2
- soc2:CC6.3
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
references:
- elastic:Kubernetes Client Certificate Signing Request Created or Approved
- panther:Kubernetes.ClientCertificate.Created
- catalog:csr-created-approved
mitre: [T1098.006]
scope: event
description: >-
  A CertificateSigningRequest was created, or approved, by a principal other than nodes, bootstrap tokens and
  the control plane. A signed client certificate is a long-lived credential that cannot be revoked short of
  rotating the cluster CA, so minting one by hand is a persistence technique. A request whose user or groups
  the log does not carry is reported (nothing shows it came from a node or the control plane).
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} certificate signing request {}', coalesce(user_name, '(unknown user)'), CASE WHEN subresource = 'approval' THEN 'approved' ELSE 'created' END, coalesce(object_name, request_object ->> '$.metadata.name', request_object ->> '$.metadata.generateName', '?')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'certificatesigningrequests'
      AND (verb = 'create' OR (verb IN ('update', 'patch') AND subresource = 'approval'))
      -- NULL-safe: a missing user or group list must not make the whole condition NULL (row dropped)
      AND NOT coalesce(is_bootstrap_token(user_name, user_groups) OR is_platform_identity(user_name), false)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

/* ---
id: falco-configmap-private-credentials
title: ConfigMap created or changed with what looks like credentials
kind: detection
severity: medium
needs_level: Request
area: secrets
controls: [pci-dss-4.0:10.2.1.1, nist-800-53-r5:AU-6, soc2:CC6.1, hipaa:164.312(b)]
references: [falco:Create/Modify Configmap With Private Credentials]
mitre: [T1552]
pattern: [summary]
scope: event
description: >-
  A create, update or patch of a ConfigMap whose data (keys or values, as JSON text, case-sensitive) contains
  aws_access_key_id, aws-access-key-id, aws_s3_access_key_id, aws-s3-access-key-id, password or passphrase.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} {} ConfigMap {} in {} with credential-like data', falco_user, verb, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'configmaps' AND verb IN ('create', 'update', 'patch')
  AND regexp_matches(
    CAST(json_extract(request_object, '$.data') AS VARCHAR),
    'aws_access_key_id|aws-access-key-id|aws_s3_access_key_id|aws-s3-access-key-id|password|passphrase'
  )
ORDER BY ts, audit_id

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
triage: >-
  `namespace` and `object_name` name the ConfigMap, `user_name` who wrote it; the match is a substring
  (password, passphrase, AWS key names) anywhere in the data, fired whether or not the write succeeded. False
  positives are keys that merely mention a password (`password_file`, `passwordPolicy`, a `${DB_PASSWORD}`
  placeholder); a true positive holds the value itself. Read the data (`kubectl get configmap -n NS NAME -o
  yaml`) and who read it: `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb, source_ips FROM
  events WHERE resource = 'configmaps' AND namespace = 'NS' AND object_name = 'NAME' AND verb = 'get'"`.
remediation: >-
  Rotate the credential: ConfigMaps are readable with the `view` role and are not redacted in audit logs, so
  the value may sit in this archive, in backups and in Git. Move it into a Secret or an external secret
  manager, remove it from the ConfigMap and its source, and add secret scanning to the pipeline or an
  admission rule for credential-like keys. This Falco rule has no allow-list: record a placeholder match with
  `kanalytics triage set FINDING_ID --verdict benign --note ... --by YOU`.
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

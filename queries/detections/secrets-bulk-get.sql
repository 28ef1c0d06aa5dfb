/* ---
id: secrets-bulk-get
title: Many different Secrets read in a short burst
kind: detection
severity: high
needs_level: Metadata
area: secrets
controls:
- pci-dss-4.0:10.2.1.1
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
references:
- elastic:Kubernetes Rapid Secret GET Activity Against Multiple Objects
- panther:Kubernetes.BulkSecretAccess
- panther:Kubernetes.SecretEnumeration
- catalog:secrets-bulk-get
mitre: [T1552.007]
description: >-
  One identity read (get) at least 10 distinct Secrets in one burst: successive reads no more than 5 minutes
  apart within one UTC day (a burst crossing midnight UTC is two bursts, each judged on its own), one finding
  per burst. Applications read the few Secrets they mount; walking through many names one by one is credential
  harvesting (or a tool dumping Secrets after a list). Control-plane components are ignored and secret
  operators (cert-manager, external-secrets, Helm) can be listed in allow_automation_users.
triage: >-
  Read `distinct_secrets`, the `user_agents` and `source_ips` evidence, and which Secrets were read: backup
  tools (Velero), secret syncers and reloaders, or Helm reading its own `sh.helm.release.v1.*` Secrets are
  expected from their in-cluster accounts. kubectl, curl or a scripting library walking through many names,
  Secrets of several namespaces, or an address outside the cluster is credential harvesting. Follow-up:
  `kanalytics sql --month YYYY-MM "SELECT namespace, object_name, min(request_ts) AS first FROM events WHERE
  user_name = 'USER' AND resource = 'secrets' AND verb = 'get' AND stage = 'ResponseComplete' AND request_ts
  BETWEEN TIMESTAMPTZ 'TS' AND TIMESTAMPTZ 'LAST_TS' GROUP BY ALL ORDER BY first"` lists exactly what was
  read.
remediation: >-
  If unauthorised, treat every Secret read as disclosed and rotate them, starting with tokens, cloud and
  database credentials and TLS keys, then revoke the identity's credential and look for use of the stolen
  values. Reduce Secret reads to named objects (`resourceNames`) for applications. For a reviewed secret
  operator, add its account to `[[allowlists.automation_users]]` or `[allowlists.query_lists]
  secrets-bulk-get` with a reason.
--- */
WITH reads AS (
    SELECT cluster, date_trunc('day', request_ts) AS day, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, user_agent, namespace, object_name
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage = 'ResponseComplete'
      AND resource = 'secrets' AND verb = 'get' AND object_name IS NOT NULL
      AND response_code BETWEEN 200 AND 299
      AND NOT is_platform_identity(user_name)
      AND user_name NOT IN (SELECT value FROM allow_automation_users)
),
marked AS (
    SELECT *, CASE WHEN request_ts - lag(request_ts) OVER (PARTITION BY cluster, user_name, day ORDER BY request_ts, audit_id)
                        <= INTERVAL 5 MINUTE THEN 0 ELSE 1 END AS new_burst
    FROM reads
),
bursts AS (
    SELECT *, sum(new_burst) OVER (PARTITION BY cluster, user_name, day ORDER BY request_ts, audit_id ROWS UNBOUNDED PRECEDING) AS burst
    FROM marked
)
SELECT
    min(request_ts) AS ts, cluster, arg_min(audit_id, (request_ts, audit_id)) AS audit_id, user_name,
    arg_min(source_ip, (request_ts, audit_id)) AS source_ip, 'get' AS verb, 'secrets' AS resource,
    CASE WHEN count(DISTINCT namespace) = 1 THEN min(namespace) ELSE NULL END AS namespace,
    NULL::VARCHAR AS object_name,
    format('{} read {} different Secrets in {} namespace(s) within {} minutes', user_name,
           count(DISTINCT coalesce(namespace, '') || '/' || object_name), count(DISTINCT namespace),
           greatest(1, ceil(epoch(max(request_ts) - min(request_ts)) / 60)::INTEGER)) AS summary,
    count(DISTINCT coalesce(namespace, '') || '/' || object_name) AS distinct_secrets,
    max(request_ts) AS last_ts,
    list_sort(list_distinct(list(source_ip))) AS source_ips,
    list_sort(list_distinct(list(user_agent))) AS user_agents
FROM bursts
GROUP BY cluster, user_name, day, burst
HAVING count(DISTINCT coalesce(namespace, '') || '/' || object_name) >= 10
   AND NOT allowlisted($query_id, [user_name])
ORDER BY ts

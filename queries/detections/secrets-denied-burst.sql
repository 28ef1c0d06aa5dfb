/* ---
id: secrets-denied-burst
title: Burst of denied Secret reads by one identity
kind: detection
severity: medium
needs_level: Metadata
area: secrets
controls:
- pci-dss-4.0:10.2.1.4
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.308(a)(5)(ii)(C)
- pci-dss-4.0:10.4.1
references: [panther:Kubernetes.Secret.AccessDenied, catalog:secrets-denied-burst]
mitre: [T1552.007, T1613]
description: >-
  One authenticated identity was refused (403 / decision forbid) at least 20 times within 15 minutes when
  reading Secrets (get, list or watch), one finding per burst (denials no more than 15 minutes apart within
  one UTC day; a burst crossing midnight UTC is two bursts, each judged on its own). A credential guessing
  where the secrets are, or a stolen service-account token being tried, looks like this; a single
  misconfigured reader is visible too and should be fixed. Nodes, the control plane and kube-system
  controllers are skipped; single denials are reported by falco-secret-get-unsuccessfully and mixed-resource
  probing by authz-denied-burst. Per-query exceptions (user) come from allow_query_list.
triage: >-
  Read the `secrets`, `user_agents` and `source_ips` evidence: one Secret requested again and again by an
  application's client library at a steady rate, starting at a deploy, is a missing Role or a wrong name; many
  different names, several namespaces, kubectl or curl, or an address outside the cluster is someone trying
  where a stolen credential works. Follow-up: `kanalytics sql --month YYYY-MM "SELECT resource, verb,
  response_code, count(*) AS n FROM events WHERE user_name = 'USER' AND request_ts >= TIMESTAMPTZ 'TS' AND
  stage = 'ResponseComplete' GROUP BY ALL ORDER BY n DESC"` shows whether anything else was tried and whether
  some requests succeeded, and `kubectl auth can-i --list -n NS --as USER` what it may do.
remediation: >-
  If it was probing, revoke the credential (delete the account's pods and legacy token Secrets, or the
  person's session at the identity provider), block the source, and check what the identity did succeed at
  (denied-then-privileged, authz-denied-burst). If an application is misconfigured, fix its Secret name or
  grant `get` on that Secret alone (`resourceNames`), which also ends the noise. A reviewed reader can be
  added to `[allowlists.query_lists] secrets-denied-burst` with a reason.
--- */
WITH denied AS (
    SELECT cluster, date_trunc('day', request_ts) AS day, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, user_agent, verb, namespace, object_name
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage = 'ResponseComplete'
      AND resource = 'secrets' AND coalesce(subresource, '') = ''
      AND verb IN ('get', 'list', 'watch')
      AND (response_code = 403 OR authz_decision = 'forbid')
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
windowed AS (
    SELECT *,
        count(*) OVER (PARTITION BY cluster, user_name, day ORDER BY request_ts
                       RANGE BETWEEN CURRENT ROW AND INTERVAL 15 MINUTE FOLLOWING) AS in_15min,
        CASE WHEN request_ts - lag(request_ts) OVER (PARTITION BY cluster, user_name, day ORDER BY request_ts, audit_id)
                  <= INTERVAL 15 MINUTE THEN 0 ELSE 1 END AS new_burst
    FROM denied
),
bursts AS (
    SELECT *, sum(new_burst) OVER (PARTITION BY cluster, user_name, day ORDER BY request_ts, audit_id ROWS UNBOUNDED PRECEDING) AS burst
    FROM windowed
)
SELECT
    min(request_ts) AS ts, cluster, arg_min(audit_id, (request_ts, audit_id)) AS audit_id, user_name,
    arg_min(source_ip, (request_ts, audit_id)) AS source_ip, arg_min(verb, (request_ts, audit_id)) AS verb, 'secrets' AS resource,
    CASE WHEN count(DISTINCT coalesce(namespace, '')) = 1 THEN any_value(namespace) END AS namespace,
    NULL::VARCHAR AS object_name,
    format('{} was denied {} Secret read(s) between {} and {} UTC (up to {} within 15 minutes) in namespace(s) {}',
           user_name, count(*), strftime(min(request_ts), '%Y-%m-%d %H:%M'), strftime(max(request_ts), '%H:%M'),
           max(in_15min), array_to_string(list_slice(list_sort(list_distinct(list(coalesce(namespace, '(all)')))), 1, 6), ', ')) AS summary,
    count(*) AS denials, max(in_15min) AS max_in_15_minutes, max(request_ts) AS last_ts,
    list_slice(list_sort(list_distinct(list(object_name))), 1, 20) AS secrets,
    list_sort(list_distinct(list(source_ip))) AS source_ips, list_sort(list_distinct(list(user_agent))) AS user_agents
FROM bursts
GROUP BY cluster, user_name, day, burst
HAVING max(in_15min) >= 20
   AND NOT allowlisted($query_id, [user_name])
ORDER BY ts

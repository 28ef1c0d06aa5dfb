/* ---
id: first-seen-identity-user-agent
title: Identity used with a client it never used before
kind: anomaly
severity: low
needs_level: Metadata
area: anomalies
controls: [nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16, pci-dss-4.0:10.2.1.2]
references:
- elastic:Kubernetes Unusual Decision by User Agent
- elastic:Kubernetes Forbidden Request from Unusual User Agent
- elastic:Kubernetes Denied Service Account Request via Unusual User Agent
- splunk:Kubernetes Abuse of Secret by Unusual User Agent
- catalog:denied-new-ua
- catalog:unusual-decision-combo
mitre: [T1078]
baseline_days: 30
description: >-
  Compares, per identity, the client programs of the period with the baseline window. The user agent is
  reduced to its product name (the text before the first '/', so "kubectl/v1.30.2 ..." is "kubectl") so that
  version upgrades are not reported. Reports the first request with a product the identity never used in the
  baseline, for people and service accounts active in the baseline. A service account that always talks
  through its own client library and suddenly speaks kubectl, curl or python is being driven by a person with
  its token. The score is 2 when the identity is a service account, 1 for a person (people change tools more
  often).
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           user_agent, lower(coalesce(nullif(regexp_extract(user_agent, '^([^/ ]+)', 1), ''), '(none)')) AS product
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
base AS (
    SELECT cluster, user_name, list_distinct(list(product)) AS products, count(DISTINCT date_trunc('day', request_ts)) AS days
    FROM ev WHERE request_ts < $period_start GROUP BY cluster, user_name
)
SELECT
    e.request_ts AS ts, e.cluster, e.audit_id, e.user_name, e.source_ip, e.verb, e.resource, e.namespace, e.object_name,
    format('{} used client "{}" for the first time ({} {} from {})', e.user_name, e.user_agent, e.verb,
           coalesce(e.resource, ''), e.source_ip) AS summary,
    (CASE WHEN is_service_account(e.user_name) THEN 2 ELSE 1 END)::DOUBLE AS score,
    format('clients seen in {} active baseline day(s): {}', b.days, array_to_string(list_slice(list_sort(b.products), 1, 5), ', ')) AS baseline,
    e.product, e.user_agent
FROM ev e JOIN base b USING (cluster, user_name)
WHERE e.request_ts >= $period_start
  AND NOT list_contains(b.products, e.product)
  AND NOT allowlisted($query_id, [e.user_name])
QUALIFY row_number() OVER (PARTITION BY e.cluster, e.user_name, e.product ORDER BY e.request_ts) = 1
ORDER BY ts

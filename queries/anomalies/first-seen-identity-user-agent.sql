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
  Judges each UTC day of the period against the baseline_days days before it (a rolling baseline, so later
  days of a month are compared with earlier ones too): per identity, the client programs of the day against
  those of its window. The user agent is reduced to its product name (the text before the first '/', so
  "kubectl/v1.30.2 ..." is "kubectl") so that version upgrades are not reported. Reports, per UTC day, the
  first request with a product the identity did not use in that window, for people and service accounts active
  in it. A service account that always talks through its own client library and suddenly speaks kubectl, curl
  or python is being driven by a person with its token. The score is 2 when the identity is a service account,
  1 for a person (people change tools more often).
triage: >-
  Compare `product` with the clients in `baseline`: a person moving from kubectl to Lens, k9s or Terraform is
  usually benign, while a service account (score 2) that always spoke through its own client library and now
  uses kubectl, curl or python is being driven by a person holding its token. The user agent is client-set, so
  check `source_ip` against the identity's usual addresses as well. Follow-up: `kanalytics sql --month YYYY-MM
  "SELECT source_ips[-1] AS client_ip, user_agent, count(*) AS n, min(request_ts) FROM events WHERE user_name
  = 'USER' AND stage = 'ResponseComplete' GROUP BY ALL ORDER BY n DESC"`.
remediation: >-
  If a workload's token is being used by hand, invalidate it (restart the account's pods, delete legacy token
  Secrets or recreate the account), find how it left the pod (pod-exec, secrets reads) and review what it did
  with the new client. For a person's new tool, nothing needs fixing; add the identity to
  `[allowlists.query_lists] first-seen-identity-user-agent` if it keeps changing tools, or record the review
  with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           user_agent, lower(coalesce(nullif(regexp_extract(user_agent, '^([^/ ]+)', 1), ''), '(none)')) AS product,
           date_trunc('day', request_ts) AS day
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
daily AS (  -- per identity, UTC day and client product: its first request that day
    SELECT * FROM ev
    QUALIFY row_number() OVER (PARTITION BY cluster, user_name, day, product ORDER BY request_ts, audit_id) = 1
),
judged AS (  -- each day against the identity's own window: the baseline_days days before it
    SELECT *, list(DISTINCT product) OVER w AS products, count(DISTINCT day) OVER w AS days
    FROM daily
    WINDOW w AS (PARTITION BY cluster, user_name ORDER BY day
                 RANGE BETWEEN ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) PRECEDING AND INTERVAL 1 DAY PRECEDING)
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} used client "{}", not used in the baseline window before {} ({} {} from {})', user_name, user_agent,
           strftime(day, '%Y-%m-%d'), verb, coalesce(resource, ''), source_ip) AS summary,
    (CASE WHEN is_service_account(user_name) THEN 2 ELSE 1 END)::DOUBLE AS score,
    format('clients seen in {} active day(s) of the baseline window before {}: {}', days, strftime(day, '%Y-%m-%d'),
           array_to_string(list_slice(list_sort(products), 1, 5), ', ')) AS baseline,
    product, user_agent
FROM judged
WHERE request_ts >= $period_start AND days > 0
  AND NOT list_contains(products, product)
  AND NOT allowlisted($query_id, [user_name])
ORDER BY ts, audit_id

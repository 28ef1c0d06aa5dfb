/* ---
id: volume-spike-identity
title: Sudden request-volume spike by one identity
kind: anomaly
severity: medium
needs_level: Metadata
area: anomalies
controls:
- nist-800-53-r5:AU-6
- nist-800-53-r5:AU-6(1)
- soc2:CC7.2
- iso-27001-2022:A.8.16
- pci-dss-4.0:10.4.1.1
- pci-dss-4.0:10.4.1
- pci-dss-4.0:10.4.2
- hipaa:164.308(a)(1)(ii)(D)
references:
- catalog:baseline-volume-deviation
- splunk:Kubernetes AWS detect most active service accounts by pod
mitre: [T1613, T1530]
baseline_days: 30
description: >-
  Judges each UTC day of the period against the baseline_days days before it (a rolling baseline, so later
  days of a month are compared with earlier ones too): each identity's requests per hour on the day against
  its own hourly volume in that window (median and median absolute deviation over the hours it was active;
  hours without requests are not counted as zeros, so an identity that works a few hours a day is compared
  with its working hours). An hour is reported when it has at least 20 requests, at least 10 times the
  window's median, and a robust z-score ((n - median) / (1.4826 MAD + 1)) of at least 10; the score is that
  z-score. Mass enumeration, scraping of Secrets or a runaway script all look like this. Identities with fewer
  than 3 active days in the window are not judged (no reliable baseline), and neither are nodes and
  control-plane components, whose volume follows the cluster size.
triage: >-
  Read `requests`, `score` and `baseline`, and the dominant `verb` and `resource` of the hour: many list or
  get calls on secrets, pods or configmaps across namespaces is enumeration or scraping, while the same
  request repeated (a crash loop, a failing watch re-listing) is a runaway client, and a controller re-listing
  everything after its own upgrade settles within the hour. Follow-up: `kanalytics sql --month YYYY-MM "SELECT
  verb, resource, namespace, response_code, count(*) AS n FROM events WHERE user_name = 'USER' AND
  date_trunc('hour', request_ts) = TIMESTAMPTZ 'HOUR' AND stage <> 'RequestReceived' GROUP BY ALL ORDER BY n
  DESC LIMIT 20"` breaks the hour down.
remediation: >-
  If it was enumeration with a stolen credential, revoke it and review what was read (rotate any Secrets in
  it). A runaway client is fixed at its source, and API Priority and Fairness (a FlowSchema with its own
  priority level) keeps one identity from crowding out the rest. For a batch job that spikes by design, add it
  to `[allowlists.query_lists] volume-spike-identity` with a reason.
spark: >-
  uses DuckDB's mad() (median absolute deviation) as a window aggregate; Spark 3.5 has no such function
--- */
WITH hourly AS (
    SELECT cluster, user_name, date_trunc('hour', request_ts) AS hour, date_trunc('day', request_ts) AS day, count(*) AS n,
           arg_min(audit_id, (request_ts, audit_id)) AS audit_id, arg_min(client_ip(source_ips), (request_ts, audit_id)) AS source_ip,
           mode(verb) AS verb, mode(resource) AS resource, min(request_ts) AS first_ts
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
    GROUP BY ALL
),
judged AS (  -- each hour against the identity's active hours in its day's window: the baseline_days days before it
    SELECT *, median(n) OVER w AS med, mad(n) OVER w AS mad, count(DISTINCT day) OVER w AS days
    FROM hourly
    WINDOW w AS (PARTITION BY cluster, user_name ORDER BY day
                 RANGE BETWEEN ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) PRECEDING AND INTERVAL 1 DAY PRECEDING)
)
SELECT
    first_ts AS ts, cluster, audit_id, user_name, source_ip, verb, resource, NULL::VARCHAR AS namespace,
    NULL::VARCHAR AS object_name,
    format('{} made {} requests between {} and {} UTC, {}x their usual hourly volume (mostly {} {})', user_name, n,
           strftime(hour, '%Y-%m-%d %H:%M'), strftime(hour + INTERVAL 1 HOUR, '%H:%M'),
           round(n / med, 1), verb, coalesce(resource, '')) AS summary,
    round((n - med) / (1.4826 * mad + 1), 1) AS score,
    format('median {}/h, MAD {} over {} active day(s) of the baseline window before {}', med, mad, days,
           strftime(day, '%Y-%m-%d')) AS baseline,
    n AS requests, hour
FROM judged
WHERE hour >= $period_start AND days >= 3
  AND n >= 20 AND n >= 10 * med
  AND (n - med) / (1.4826 * mad + 1) >= 10
  AND NOT allowlisted($query_id, [user_name])
ORDER BY ts, audit_id

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
  Compares each identity's requests per hour in the period with its own hourly volume in the baseline window
  (median and median absolute deviation over the hours it was active). An hour is reported when it has at
  least 20 requests, at least 10 times the baseline median, and a robust z-score ((n - median) / (1.4826 MAD +
  1)) of at least 10; the score is that z-score. Mass enumeration, scraping of Secrets or a runaway script all
  look like this. Identities with fewer than 3 active baseline days are not judged (no reliable baseline), and
  neither are nodes and control-plane components, whose volume follows the cluster size.
--- */
WITH hourly AS (
    SELECT cluster, user_name, date_trunc('hour', request_ts) AS hour, count(*) AS n,
           arg_min(audit_id, request_ts) AS audit_id, arg_min(client_ip(source_ips), request_ts) AS source_ip,
           mode(verb) AS verb, mode(resource) AS resource, min(request_ts) AS first_ts
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
    GROUP BY cluster, user_name, date_trunc('hour', request_ts)
),
base AS (
    SELECT cluster, user_name, median(n) AS med, median(abs(n - med_all)) AS mad, count(DISTINCT date_trunc('day', hour)) AS days
    FROM (SELECT *, median(n) OVER (PARTITION BY cluster, user_name) AS med_all FROM hourly WHERE hour < $period_start)
    GROUP BY cluster, user_name
    HAVING count(DISTINCT date_trunc('day', hour)) >= 3
)
SELECT
    h.first_ts AS ts, h.cluster, h.audit_id, h.user_name, h.source_ip, h.verb, h.resource, NULL::VARCHAR AS namespace,
    NULL::VARCHAR AS object_name,
    format('{} made {} requests between {} and {} UTC, {}x their usual hourly volume (mostly {} {})', h.user_name, h.n,
           strftime(h.hour, '%Y-%m-%d %H:%M'), strftime(h.hour + INTERVAL 1 HOUR, '%H:%M'),
           round(h.n / b.med, 1), h.verb, coalesce(h.resource, '')) AS summary,
    round((h.n - b.med) / (1.4826 * b.mad + 1), 1) AS score,
    format('median {}/h, MAD {} over {} active baseline day(s)', b.med, b.mad, b.days) AS baseline,
    h.n AS requests, h.hour
FROM hourly h JOIN base b USING (cluster, user_name)
WHERE h.hour >= $period_start
  AND h.n >= 20 AND h.n >= 10 * b.med
  AND (h.n - b.med) / (1.4826 * b.mad + 1) >= 10
  AND NOT allowlisted($query_id, [h.user_name])
ORDER BY ts

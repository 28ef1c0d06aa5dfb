/* ---
id: integrity-audit-log-gap
title: Cluster stopped sending audit events (gap against its usual volume)
kind: anomaly
severity: high
needs_level: Metadata
area: integrity
controls:
- pci-dss-4.0:10.2.1
- pci-dss-4.0:10.2.1.6
- pci-dss-4.0:10.3.3
- pci-dss-4.0:10.7.1
- pci-dss-4.0:10.7.2
- pci-dss-4.0:10.7.3
- nist-800-53-r5:AU-5
- nist-800-53-r5:AU-12
- nist-800-53-r5:AU-9
- iso-27001-2022:A.8.15
- cis-k8s:1.2.16
- cis-k8s:3.2.1
- hipaa:164.312(b)
references: [catalog:audit-log-gap]
mitre: [T1562.008]
baseline_days: 30
description: >-
  Hours of the period in which a cluster sent no events, or fewer than 10% of its median hourly volume in the
  baseline window (for the same hour of day when that hour has at least 5 baseline days, otherwise over all
  hours); consecutive such hours are merged into one finding with its start, end and duration. The control
  plane alone produces steady traffic (leases, controllers), so a silent or nearly silent hour means the audit
  backend, the shipper or the API server stopped: exactly when an attacker would act. Clusters whose baseline
  median is below 5 events/hour, and hours before a cluster's first event in the baseline window, are not
  judged.
--- */
WITH hourly AS (
    SELECT cluster, date_trunc('hour', request_ts) AS hour, count(*) AS n
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
    GROUP BY ALL
),
clusters AS (
    SELECT cluster, min(hour) AS first_hour FROM hourly GROUP BY cluster
),
grid AS (
    SELECT c.cluster, g.hour
    FROM clusters c,
         (SELECT unnest(generate_series(date_trunc('hour', $baseline_start::TIMESTAMPTZ),
                                        $period_end::TIMESTAMPTZ - INTERVAL 1 HOUR, INTERVAL 1 HOUR)) AS hour) g
    WHERE g.hour >= c.first_hour
),
filled AS (
    SELECT g.cluster, g.hour, coalesce(h.n, 0) AS n
    FROM grid g LEFT JOIN hourly h USING (cluster, hour)
),
base_all AS (
    SELECT cluster, median(n) AS med
    FROM filled WHERE hour < $period_start GROUP BY cluster
),
base_hod AS (
    SELECT cluster, hour(hour) AS hod, median(n) AS med, count(*) AS days
    FROM filled WHERE hour < $period_start GROUP BY cluster, hour(hour)
),
judged AS (
    SELECT f.cluster, f.hour, f.n,
           CASE WHEN coalesce(b.days, 0) >= 5 THEN b.med ELSE a.med END AS expected, a.med AS overall
    FROM filled f
    JOIN base_all a USING (cluster)
    LEFT JOIN base_hod b ON b.cluster = f.cluster AND b.hod = hour(f.hour)
    WHERE f.hour >= $period_start AND f.hour < $period_end
),
low AS (
    SELECT *, hour - to_hours(row_number() OVER (PARTITION BY cluster ORDER BY hour)) AS run
    FROM judged
    WHERE overall >= 5 AND (n = 0 OR n < 0.1 * expected)
)
SELECT
    min(hour) AS ts, NULL::VARCHAR AS audit_id, NULL::VARCHAR AS user_name, NULL::VARCHAR AS source_ip,
    NULL::VARCHAR AS verb, NULL::VARCHAR AS resource, NULL::VARCHAR AS namespace, NULL::VARCHAR AS object_name,
    format('Cluster {} sent {} audit event(s) between {} and {} UTC ({} hour(s)); about {} per hour are usual',
           cluster, sum(n), strftime(min(hour), '%Y-%m-%d %H:%M'), strftime(max(hour) + INTERVAL 1 HOUR, '%Y-%m-%d %H:%M'),
           count(*), round(median(expected))::BIGINT) AS summary,
    cluster, max(hour) + INTERVAL 1 HOUR AS gap_end, count(*) AS hours, sum(n) AS events_in_gap,
    round(1 - sum(n) / sum(expected), 3) AS score,
    format('median {} events/hour in the baseline window', round(median(expected))::BIGINT) AS baseline
FROM low
GROUP BY cluster, run
ORDER BY ts

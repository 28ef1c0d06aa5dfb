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
  Judges each UTC day of the period against the baseline_days days before it (a rolling baseline, so later
  days of a month are compared with earlier ones too): hours of the day in which a cluster sent no events, or
  fewer than 10% of its median hourly volume in that window (for the same hour of day when that hour has at
  least 5 days in the window, otherwise over all hours); consecutive such hours of one UTC day are merged into
  one finding with its start, end and duration (a gap across midnight UTC is one finding per day). The control
  plane alone produces steady traffic (leases, controllers), so a silent or nearly silent hour means the audit
  backend, the shipper or the API server stopped: exactly when an attacker would act. Clusters whose median in
  the window is below 5 events/hour are not judged, and a window's hours before the cluster's first event in
  it do not count (as zeros) in its median.
triage: >-
  First tell a gap in the archive from a gap at the source: files that are waiting to be ingested, a log
  shipper or webhook backend that was down, a planned control-plane upgrade or maintenance window, or a
  cluster that was scaled down all explain silence; `hours` and `events_in_gap` against the `baseline` show
  how complete the silence was. Without such an explanation, check whether the audit policy or the API
  server's audit flags were changed just before (for a managed cluster, in the cloud provider's own logs).
  Follow-up: `kanalytics sql --month YYYY-MM "SELECT date_trunc('hour', request_ts) AS hour, count(*) AS n
  FROM events WHERE cluster = 'CLUSTER' GROUP BY ALL ORDER BY hour"` and `kanalytics info` for what the
  archive holds.
remediation: >-
  Recover the missing events from the API server's local audit files or the log backend's buffer and ingest
  them (the finding disappears on the next run once the hours are filled). If the audit configuration was
  changed or the backend stopped on purpose, treat it as defence evasion: find who changed it and review
  activity in and around the gap from other sources (cloud provider and node logs). Alert on shipper lag, and
  record planned maintenance with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
WITH hourly AS (
    SELECT cluster, date_trunc('hour', request_ts) AS hour, count(*) AS n
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
    GROUP BY ALL
),
days AS (  -- each UTC day of the period per cluster, with the first hour with events in its window
    SELECT c.cluster, d.day, min(h.hour) AS since
    FROM (SELECT DISTINCT cluster FROM hourly) c
    CROSS JOIN (SELECT unnest(generate_series(date_trunc('day', $period_start::TIMESTAMPTZ),
                                              date_trunc('day', $period_end::TIMESTAMPTZ - INTERVAL 1 HOUR), INTERVAL 1 DAY)) AS day) d
    JOIN hourly h ON h.cluster = c.cluster AND h.hour >= d.day - ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) AND h.hour < d.day
    GROUP BY c.cluster, d.day
),
grid AS (
    SELECT c.cluster, g.hour
    FROM (SELECT cluster, min(since) AS first_hour FROM days GROUP BY cluster) c,
         (SELECT unnest(generate_series(date_trunc('hour', $baseline_start::TIMESTAMPTZ),
                                        $period_end::TIMESTAMPTZ - INTERVAL 1 HOUR, INTERVAL 1 HOUR)) AS hour) g
    WHERE g.hour >= c.first_hour
),
filled AS (
    SELECT g.cluster, g.hour, coalesce(h.n, 0) AS n
    FROM grid g LEFT JOIN hourly h USING (cluster, hour)
),
window_hours AS (  -- the hours of each day's window, from the cluster's first event in it
    SELECT d.cluster, d.day, f.hour, f.n
    FROM days d JOIN filled f ON f.cluster = d.cluster AND f.hour >= d.since AND f.hour < d.day
),
base_all AS (
    SELECT cluster, day, median(n) AS med FROM window_hours GROUP BY cluster, day
),
base_hod AS (
    SELECT cluster, day, hour(hour) AS hod, median(n) AS med, count(*) AS days
    FROM window_hours GROUP BY cluster, day, hour(hour)
),
judged AS (
    SELECT f.cluster, f.hour, a.day, f.n,
           CASE WHEN coalesce(b.days, 0) >= 5 THEN b.med ELSE a.med END AS expected, a.med AS overall
    FROM filled f
    JOIN base_all a ON a.cluster = f.cluster AND a.day = date_trunc('day', f.hour)
    LEFT JOIN base_hod b ON b.cluster = f.cluster AND b.day = a.day AND b.hod = hour(f.hour)
    WHERE f.hour >= $period_start AND f.hour < $period_end
),
low AS (
    SELECT *, hour - to_hours(row_number() OVER (PARTITION BY cluster, day ORDER BY hour)) AS run
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
    format('median {} events/hour in the baseline window before {}', round(median(expected))::BIGINT,
           strftime(day, '%Y-%m-%d')) AS baseline
FROM low
GROUP BY cluster, day, run
ORDER BY ts, cluster

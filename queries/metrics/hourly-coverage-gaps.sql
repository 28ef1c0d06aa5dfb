/* ---
id: hourly-coverage-gaps
title: Hours with no audit events or far fewer than usual
kind: metric
needs_level: Metadata
area: coverage
controls:
- pci-dss-4.0:10.2.1
- pci-dss-4.0:10.7.2
- nist-800-53-r5:AU-5
- nist-800-53-r5:AU-12
- iso-27001-2022:A.8.15
references: [catalog:M1]
description: >-
  Every hour of the period in which a cluster recorded no events, or fewer than a fifth of its usual hourly
  volume (the median hour over the baseline window and the period). A gap means the audit trail for that hour
  is missing or incomplete, so detections could not see what happened then. Hours are counted from the period
  start (local midnight of a report period), so they line up with the clock hours of the report's time zone,
  including half-hour zones, and a daylight-saving change neither adds nor loses an hour; hour_utc is the
  hour's start instant (shown in UTC).
spark: >-
  buckets hours with DuckDB's date_bin, which Spark 3.5 lacks
--- */
WITH hours AS (
    SELECT unnest(generate_series(
        $period_start::TIMESTAMPTZ, $period_end::TIMESTAMPTZ - INTERVAL 1 microsecond, INTERVAL 1 hour
    )) AS hour
),
clusters AS (SELECT DISTINCT cluster FROM events),
counts AS (
    SELECT cluster, time_bucket(INTERVAL 1 hour, request_ts, $period_start::TIMESTAMPTZ) AS hour, count(*) AS events
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
    GROUP BY ALL
),
usual AS (
    SELECT cluster, median(events) AS usual_events FROM counts GROUP BY cluster
),
grid AS (
    SELECT c.cluster, h.hour, coalesce(n.events, 0) AS events, u.usual_events
    FROM hours AS h
    CROSS JOIN clusters AS c
    LEFT JOIN counts AS n ON n.cluster = c.cluster AND n.hour = h.hour
    LEFT JOIN usual AS u ON u.cluster = c.cluster
)
SELECT
    cluster,
    hour AS hour_utc,
    events,
    round(usual_events, 1) AS usual_events,
    CASE WHEN events = 0 THEN 'no events' ELSE 'far fewer than usual' END AS status
FROM grid
WHERE events = 0 OR events < usual_events / 5
ORDER BY cluster, hour

/* ---
id: events-per-day
title: Audit events per cluster and day
kind: metric
needs_level: Metadata
area: coverage
controls: [pci-dss-4.0:10.2.1, nist-800-53-r5:AU-12, soc2:CC7.2, iso-27001-2022:A.8.15, hipaa:164.312(b)]
references: [catalog:M1]
description: >-
  Every day of the period (calendar days of the configured time zone, `timezone` in kanalytics.toml, bound as
  $timezone; UTC by default) for every cluster in the archive, with the number of events recorded (zero when
  none arrived), so that days without audit data are visible instead of silently missing. first_ts and last_ts
  are UTC instants.
spark: >-
  casts unnest(generate_series(...)) to DATE in its select list: the translation is explode() inside a CAST,
  and Spark 3.5 refuses a generator nested in an expression
--- */
WITH days AS (
    SELECT unnest(generate_series(
        timezone($timezone, $period_start)::DATE,
        timezone($timezone, $period_end - INTERVAL 1 microsecond)::DATE,
        INTERVAL 1 day
    ))::DATE AS day
),
clusters AS (SELECT DISTINCT cluster FROM events),
counts AS (
    SELECT
        cluster,
        timezone($timezone, request_ts)::DATE AS day,
        count(*) AS events,
        count(DISTINCT user_name) AS identities,
        min(request_ts) AS first_ts,
        max(request_ts) AS last_ts
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
    GROUP BY ALL
)
SELECT
    c.cluster,
    d.day,
    coalesce(n.events, 0) AS events,
    coalesce(n.identities, 0) AS identities,
    n.first_ts,
    n.last_ts
FROM days AS d
CROSS JOIN clusters AS c
LEFT JOIN counts AS n ON n.cluster = c.cluster AND n.day = d.day
ORDER BY c.cluster, d.day

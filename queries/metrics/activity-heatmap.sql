/* ---
id: activity-heatmap
title: Activity by weekday and hour of day
kind: metric
needs_level: Metadata
area: anomalies
controls: [nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [catalog:M5]
description: >-
  Events per ISO weekday (1 = Monday) and hour of day in the configured time zone (`timezone` in
  kanalytics.toml, bound as $timezone; UTC by default), for all identities and for people only, to show when
  people work on the clusters and what happens off hours.
--- */
SELECT
    isodow(timezone($timezone, request_ts)) AS weekday,
    hour(timezone($timezone, request_ts)) AS hour,
    count(*) AS events,
    count(*) FILTER (
        WHERE is_human(user_name, user_groups)
    ) AS human_events
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
GROUP BY ALL
ORDER BY weekday, hour

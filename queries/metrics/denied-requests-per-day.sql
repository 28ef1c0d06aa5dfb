/* ---
id: denied-requests-per-day
title: Denied and unauthenticated requests per day
kind: metric
needs_level: Metadata
area: failed-access
controls: [pci-dss-4.0:10.2.1.4, nist-800-53-r5:AU-6, soc2:CC7.2, hipaa:164.308(a)(5)(ii)(C)]
references: [catalog:M4]
description: >-
  For every day of the period (calendar days of the configured time zone, bound as $timezone; UTC by default):
  requests refused by authorization (HTTP 403) and requests that failed authentication (HTTP 401). Zero days
  are listed so that the series has no holes.
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
counts AS (
    SELECT
        timezone($timezone, request_ts)::DATE AS day,
        count(*) FILTER (WHERE response_code = 403) AS forbidden,
        count(*) FILTER (WHERE response_code = 401) AS unauthenticated,
        count(DISTINCT user_name) FILTER (WHERE response_code IN (401, 403)) AS identities
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end AND response_code IN (401, 403)
    GROUP BY ALL
)
SELECT d.day, coalesce(c.forbidden, 0) AS forbidden, coalesce(c.unauthenticated, 0) AS unauthenticated,
    coalesce(c.identities, 0) AS identities
FROM days AS d LEFT JOIN counts AS c ON c.day = d.day
ORDER BY d.day

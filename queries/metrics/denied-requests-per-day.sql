/* ---
id: denied-requests-per-day
title: Denied and unauthenticated requests per day
kind: metric
area: failed-access
needs_level: Metadata
controls: [pci-dss-4.0:10.2.1.4, nist-800-53-r5:AU-6, soc2:CC7.2, hipaa:164.308(a)(5)(ii)(C)]
references: [catalog:M4]
description: >-
  For every UTC day of the period: requests refused by authorization (HTTP 403) and requests that failed
  authentication (HTTP 401). Zero days are listed so that the series has no holes.
--- */
WITH days AS (
    SELECT unnest(generate_series(
        date_trunc('day', $period_start AT TIME ZONE 'UTC'),
        ($period_end AT TIME ZONE 'UTC') - INTERVAL 1 microsecond,
        INTERVAL 1 day
    ))::DATE AS day
),
counts AS (
    SELECT
        (request_ts AT TIME ZONE 'UTC')::DATE AS day,
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

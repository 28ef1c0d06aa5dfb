/* ---
id: daily-volume-by-identity-type
title: Daily volume by identity type
kind: metric
area: activity
needs_level: Metadata
controls: [pci-dss-4.0:10.2.1, nist-800-53-r5:AU-6, soc2:CC7.2]
references: [catalog:M1]
description: >-
  Events per day (calendar days of the configured time zone, bound as $timezone; UTC by default) split by who
  made them: people, service accounts, nodes, the control plane and anonymous callers.
--- */
SELECT
    timezone($timezone, request_ts)::DATE AS day,
    CASE
        WHEN user_name IS NULL THEN 'unknown'
        WHEN user_name = 'system:anonymous' OR list_contains(user_groups, 'system:unauthenticated') THEN 'anonymous'
        WHEN starts_with(user_name, 'system:node:') THEN 'node'
        WHEN starts_with(user_name, 'system:serviceaccount:') THEN 'service account'
        WHEN starts_with(user_name, 'system:') THEN 'control plane'
        ELSE 'human'
    END AS identity_type,
    count(*) AS events
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
GROUP BY ALL
ORDER BY day, identity_type

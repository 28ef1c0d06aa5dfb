/* ---
id: daily-volume-by-identity-type
title: Daily volume by identity type
kind: metric
needs_level: Metadata
area: activity
controls: [pci-dss-4.0:10.2.1, nist-800-53-r5:AU-6, soc2:CC7.2]
references: [catalog:M1]
description: >-
  Events per day (calendar days of the configured time zone, bound as $timezone; UTC by default) split by who
  made them: people, service accounts, nodes, the control plane and anonymous callers.
--- */
SELECT
    timezone($timezone, request_ts)::DATE AS day,
    identity_type(user_name, user_groups) AS identity_type,
    count(*) AS events
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
GROUP BY ALL
ORDER BY day, identity_type

/* ---
id: identity-summary
title: Identities and events by identity type
kind: metric
needs_level: Metadata
area: activity
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.1]
references: [catalog:M5]
description: >-
  For each identity type (human, service account, node, control plane, anonymous): how many distinct
  identities made requests, how many events, writes and denied requests they account for.
--- */
SELECT
    identity_type(user_name, user_groups) AS identity_type,
    count(DISTINCT user_name) AS identities,
    count(*) AS events,
    count(*) FILTER (WHERE verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')) AS writes,
    count(*) FILTER (WHERE response_code IN (401, 403)) AS denied
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
GROUP BY ALL
ORDER BY events DESC

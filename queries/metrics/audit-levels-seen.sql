/* ---
id: audit-levels-seen
title: Audit levels and stages recorded
kind: metric
needs_level: Metadata
area: coverage
controls: [cis-k8s:3.2.1, cis-k8s:3.2.2, nist-800-53-r5:AU-3, pci-dss-4.0:10.2.2]
references: [catalog:M3]
description: >-
  How many events were recorded at each audit level and stage. Queries that read request or response bodies
  can only work where the audit policy logged at Request or RequestResponse level.
--- */
SELECT
    level,
    stage,
    count(*) AS events,
    count(DISTINCT resource) AS resources,
    min(request_ts) AS first_ts,
    max(request_ts) AS last_ts
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
GROUP BY level, stage
ORDER BY
    CASE level WHEN 'RequestResponse' THEN 3 WHEN 'Request' THEN 2 WHEN 'Metadata' THEN 1 ELSE 0 END DESC,
    stage

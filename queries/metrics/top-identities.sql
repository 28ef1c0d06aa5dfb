/* ---
id: top-identities
title: Most active identities per identity type
kind: metric
needs_level: Metadata
area: activity
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [catalog:M5]
description: >-
  The ten most active identities of each type, with their writes, denied requests, distinct source addresses
  and first and last request, so that unexpected heavy users stand out.
spark: >-
  sqlglot's QUALIFY elimination (Spark 3.5 has no QUALIFY) leaves its helper column _w in this query's output
--- */
WITH per_user AS (
    SELECT
        user_name,
        identity_type(user_name, user_groups) AS identity_type,
        count(*) AS events,
        count(*) FILTER (WHERE verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')) AS writes,
        count(*) FILTER (WHERE response_code IN (401, 403)) AS denied,
        count(DISTINCT client_ip(source_ips)) AS source_ips,
        min(request_ts) AS first_ts,
        max(request_ts) AS last_ts
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
    GROUP BY ALL
)
SELECT *
FROM per_user
QUALIFY row_number() OVER (PARTITION BY identity_type ORDER BY events DESC, user_name) <= 10
ORDER BY events DESC, user_name

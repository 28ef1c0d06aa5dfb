/* ---
id: top-source-networks
title: Source networks
kind: metric
needs_level: Metadata
area: network
controls: [pci-dss-4.0:10.2.2, nist-800-53-r5:AU-3, iso-27001-2022:A.8.16]
references: [catalog:M4]
description: >-
  Requests grouped by the client's network (IPv4 /24, IPv6 first four groups), taken from the first source
  address, with the identities seen from each and the denied requests.
--- */
WITH base AS (
    SELECT
        source_ips[1] AS ip,
        user_name,
        response_code,
        request_ts
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    CASE
        WHEN ip IS NULL THEN '(none)'
        WHEN contains(ip, ':') THEN array_to_string(string_split(ip, ':')[1:4], ':') || '::/64'
        ELSE array_to_string(string_split(ip, '.')[1:3], '.') || '.0/24'
    END AS network,
    count(*) AS events,
    count(DISTINCT user_name) AS identities,
    count(*) FILTER (WHERE response_code IN (401, 403)) AS denied,
    min(request_ts) AS first_ts,
    max(request_ts) AS last_ts
FROM base
GROUP BY ALL
ORDER BY events DESC, network
LIMIT 25

/* ---
id: top-source-networks
title: Source networks
kind: metric
needs_level: Metadata
area: network
controls: [pci-dss-4.0:10.2.2, nist-800-53-r5:AU-3, iso-27001-2022:A.8.16]
references: [catalog:M4]
description: >-
  Requests grouped by the client's network (IPv4 /24, IPv6 /64; IPv4-mapped IPv6 as IPv4; text that is not an
  address as itself), taken from the address the API server saw (client_ip), with the identities seen from
  each and the denied requests.
--- */
WITH base AS (
    SELECT
        client_ip(source_ips) AS ip,
        user_name,
        response_code,
        request_ts
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    coalesce(ip_network(ip, 24, 64), ip, '(none)') AS network,
    count(*) AS events,
    count(DISTINCT user_name) AS identities,
    count(*) FILTER (WHERE response_code IN (401, 403)) AS denied,
    min(request_ts) AS first_ts,
    max(request_ts) AS last_ts
FROM base
GROUP BY ALL
ORDER BY events DESC, network
LIMIT 25

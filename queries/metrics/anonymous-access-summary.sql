/* ---
id: anonymous-access-summary
title: Anonymous and unauthenticated requests
kind: metric
needs_level: Metadata
area: anonymous
controls: [pci-dss-4.0:10.2.1.4, nist-800-53-r5:AU-6, soc2:CC6.1, cis-k8s:3.2.2]
references: [catalog:M13]
description: >-
  Requests made as system:anonymous or in the system:unauthenticated group, by response code, with the paths
  they asked for and the addresses they came from.
--- */
SELECT
    coalesce(user_name, '(none)') AS user_name,
    response_code,
    count(*) AS events,
    count(DISTINCT client_ip(source_ips)) AS source_ips,
    count(DISTINCT request_uri) AS paths,
    min(request_uri) AS sample_path,
    min(request_ts) AS first_ts,
    max(request_ts) AS last_ts
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
    AND is_anonymous(user_name, user_groups)
GROUP BY ALL
ORDER BY events DESC, response_code

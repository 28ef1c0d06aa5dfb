/* ---
id: top-denied-identities
title: Identities with the most denied requests
kind: metric
needs_level: Metadata
area: failed-access
controls: [pci-dss-4.0:10.2.1.4, nist-800-53-r5:AU-6, hipaa:164.308(a)(5)(ii)(C)]
references: [catalog:M4]
description: >-
  The twenty identities with the most 401/403 responses, with the resources they were refused and the
  addresses they came from.
--- */
SELECT
    user_name,
    response_code,
    count(*) AS events,
    count(DISTINCT coalesce(resource, request_uri)) AS targets,
    string_agg(DISTINCT coalesce(resource, request_uri), ', ' ORDER BY coalesce(resource, request_uri))
        AS target_list,
    count(DISTINCT client_ip(source_ips)) AS source_ips,
    min(request_ts) AS first_ts,
    max(request_ts) AS last_ts
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end AND response_code IN (401, 403)
GROUP BY ALL
ORDER BY events DESC, user_name
LIMIT 20

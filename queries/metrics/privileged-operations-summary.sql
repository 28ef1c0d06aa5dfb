/* ---
id: privileged-operations-summary
title: Exec, attach, port-forward, proxy and impersonation
kind: metric
needs_level: Metadata
area: exec
controls: [pci-dss-4.0:10.2.1.2, soc2:CC6.1, iso-27001-2022:A.8.15]
references: [catalog:M5, falco:Attach/Exec Pod]
description: >-
  How often identities opened interactive or tunnelled access into workloads and nodes, or acted as someone
  else, with the number of identities and how many attempts were refused.
--- */
WITH ops AS (
    SELECT
        CASE
            WHEN impersonated_user IS NOT NULL THEN 'impersonation'
            WHEN resource = 'pods' AND subresource = 'exec' THEN 'pod exec'
            WHEN resource = 'pods' AND subresource = 'attach' THEN 'pod attach'
            WHEN resource = 'pods' AND subresource = 'portforward' THEN 'pod port-forward'
            WHEN resource = 'pods' AND subresource = 'ephemeralcontainers' THEN 'ephemeral container'
            WHEN subresource = 'proxy' THEN resource || ' proxy'
        END AS operation,
        user_name,
        response_code
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
        AND (impersonated_user IS NOT NULL
            OR subresource IN ('exec', 'attach', 'portforward', 'ephemeralcontainers', 'proxy'))
        AND stage IN ('ResponseComplete', 'ResponseStarted', 'Panic')
)
SELECT
    operation,
    count(*) AS events,
    count(DISTINCT user_name) AS identities,
    count(*) FILTER (WHERE response_code >= 400) AS refused
FROM ops
GROUP BY ALL
ORDER BY events DESC, operation

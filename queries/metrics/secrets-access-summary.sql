/* ---
id: secrets-access-summary
title: Secrets access by verb and identity type
kind: metric
needs_level: Metadata
area: secrets
controls: [pci-dss-4.0:10.2.1.1, nist-800-53-r5:AU-6, soc2:CC6.1, hipaa:164.312(b)]
references: [catalog:M8]
description: >-
  Requests to Secrets by verb and by identity type, with how many identities, namespaces and refusals; people
  reading secrets directly is the line to look at.
--- */
SELECT
    verb,
    identity_type(user_name, user_groups) AS identity_type,
    count(*) AS events,
    count(DISTINCT user_name) AS identities,
    count(DISTINCT namespace) AS namespaces,
    count(*) FILTER (WHERE response_code >= 400) AS refused
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end AND resource = 'secrets'
    AND stage IN ('ResponseComplete', 'ResponseStarted', 'Panic')
GROUP BY ALL
ORDER BY events DESC, verb, identity_type

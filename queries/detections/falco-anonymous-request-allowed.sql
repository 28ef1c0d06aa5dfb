/* ---
id: falco-anonymous-request-allowed
title: Anonymous request allowed
kind: detection
severity: medium
needs_level: Metadata
area: anonymous
controls: [pci-dss-4.0:10.2.1.4, nist-800-53-r5:AU-6, soc2:CC6.1]
references: [falco:Anonymous Request Allowed]
mitre: [T1078.001]
pattern: [summary]
scope: event
description: >-
  A request by system:anonymous that authorization allowed, other than the /healthz, /livez and /readyz
  probes.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('anonymous request allowed: {} {} from {}', verb, request_uri, coalesce(source_ip, '?')) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND user_name = anonymous_user() AND authz_decision = 'allow'
  AND NOT (request_uri IN ('/healthz', '/livez', '/readyz') OR starts_with(request_uri, '/healthz?')
           OR starts_with(request_uri, '/livez?') OR starts_with(request_uri, '/readyz?'))
ORDER BY ts, audit_id

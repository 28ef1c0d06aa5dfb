/* ---
id: falco-ingress-without-tls-created
title: Ingress created without TLS
kind: detection
severity: medium
needs_level: Request
area: network
controls: [nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Ingress Object without TLS Certificate Created]
mitre: [T1557]
tags: [falco-activity]
scope: event
description: >-
  A successful ingress create whose request body has no spec.tls. Without a body Falco fires on every ingress
  create, so this needs Request level.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created ingress {} in {} without TLS', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'ingresses' AND verb = 'create' AND succeeded AND NOT coalesce(json_exists(request_object, '$.spec.tls'), false)
ORDER BY ts, audit_id

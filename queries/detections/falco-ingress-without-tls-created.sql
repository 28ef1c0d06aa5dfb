/* ---
id: falco-ingress-without-tls-created
title: Ingress created without TLS
kind: detection
severity: medium
needs_level: Request
area: network
controls:
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
references:
- falco:Ingress Object without TLS Certificate Created
mitre:
- T1557
tags:
- falco-activity
description: A successful ingress create whose request body has no spec.tls. Without a body Falco fires on every
  ingress create, so this needs Request level.
--- */
SELECT
    request_ts AS ts,
    audit_id,
    user_name,
    source_ips[1] AS source_ip,
    verb,
    resource,
    namespace,
    object_name,
    format('{} created ingress {} in {} without TLS', coalesce(user_name, '(no user)'), coalesce(object_name, request_object->>'$.metadata.name', request_object->>'$.metadata.generateName', '(unnamed)'), coalesce(namespace, '(cluster)')) AS summary,
    cluster
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'ingresses' AND verb = 'create' AND CAST(response_code AS VARCHAR) LIKE '2%' AND NOT coalesce(json_exists(request_object, '$.spec.tls'), false)
ORDER BY ts, audit_id

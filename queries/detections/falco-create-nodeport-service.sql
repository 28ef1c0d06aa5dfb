/* ---
id: falco-create-nodeport-service
title: NodePort service created
kind: detection
severity: medium
needs_level: Request
area: network
controls: [nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Create NodePort Service]
mitre: [T1133]
pattern: [summary]
scope: event
description: >-
  A service created with spec.type NodePort, which opens a port on every node.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created NodePort service {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'services' AND verb = 'create' AND request_object->>'$.spec.type' = 'NodePort'
ORDER BY ts, audit_id

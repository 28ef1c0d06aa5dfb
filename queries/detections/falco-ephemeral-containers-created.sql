/* ---
id: falco-ephemeral-containers-created
title: Ephemeral container added to a pod (kubectl debug)
kind: detection
severity: low
needs_level: Metadata
area: exec
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.1, iso-27001-2022:A.8.16]
references: [falco:EphemeralContainers Created]
mitre: [T1609]
superseded_by: [ephemeral-container]
scope: event
description: >-
  A create, update or patch on the pods/ephemeralcontainers subresource: someone attached a debug container to
  a running pod.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} added an ephemeral container to pod {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster,
    request_object->>'$.ephemeralContainers[0].name' AS container_name,
    request_object->>'$.ephemeralContainers[0].image' AS container_image
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'pods' AND subresource = 'ephemeralcontainers' AND verb IN ('create', 'update', 'patch')
ORDER BY ts, audit_id

/* ---
id: falco-port-forward
title: Port-forward into a pod
kind: detection
severity: low
needs_level: Metadata
area: exec
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.1, iso-27001-2022:A.8.16]
references: [falco:port-forward]
mitre: [T1572]
superseded_by: [pod-port-forward]
scope: event
description: >-
  Any request on the portforward subresource. Falco has no stage filter here, so each logged stage counts.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} port-forwarded to pod {} in {} ({})', falco_user, falco_object, falco_namespace, stage) AS summary,
    cluster,
    stage
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND subresource = 'portforward'
ORDER BY ts, audit_id

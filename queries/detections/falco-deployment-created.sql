/* ---
id: falco-deployment-created
title: Deployment created
kind: detection
severity: info
needs_level: Metadata
area: activity
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-12, iso-27001-2022:A.8.15]
references: [falco:K8s Deployment Created]
tags: [falco-activity]
scope: event
description: >-
  A successful create of a Deployment: one of Falco's activity rules, which record changes rather than judge
  them.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created Deployment {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'deployments' AND verb = 'create' AND succeeded
ORDER BY ts, audit_id

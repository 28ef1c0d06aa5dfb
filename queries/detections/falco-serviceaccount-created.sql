/* ---
id: falco-serviceaccount-created
title: ServiceAccount created
kind: detection
severity: info
needs_level: Metadata
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:K8s Serviceaccount Created]
tags: [falco-activity]
scope: event
description: >-
  A successful create of a ServiceAccount: one of Falco's activity rules, which record changes rather than
  judge them.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created ServiceAccount {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'serviceaccounts' AND verb = 'create' AND succeeded
ORDER BY ts, audit_id

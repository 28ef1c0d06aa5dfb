/* ---
id: falco-rolebinding-deleted
title: RoleBinding deleted
kind: detection
severity: info
needs_level: Metadata
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:K8s RoleBinding Deleted]
tags: [falco-activity]
scope: event
description: >-
  A successful delete of a RoleBinding: one of Falco's activity rules, which record changes rather than judge
  them.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} deleted RoleBinding {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'rolebindings' AND verb = 'delete' AND succeeded
ORDER BY ts, audit_id

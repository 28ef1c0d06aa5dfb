/* ---
id: falco-secret-deleted
title: Secret deleted
kind: detection
severity: info
needs_level: Metadata
area: secrets
controls: [pci-dss-4.0:10.2.1.1, nist-800-53-r5:AU-6, soc2:CC6.1, hipaa:164.312(b)]
references: [falco:K8s Secret Deleted]
tags: [falco-activity]
scope: event
description: >-
  A successful delete of a Secret by a user that is not a system: identity outside kube-system: one of Falco's
  activity rules, which record changes rather than judge them.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} deleted Secret {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'secrets' AND verb = 'delete' AND succeeded AND namespace <> 'kube-system' AND (user_name IS NULL OR NOT is_system_user(user_name))
ORDER BY ts, audit_id

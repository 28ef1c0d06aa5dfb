/* ---
id: falco-system-clusterrole-modified
title: System role or cluster role changed or deleted
kind: detection
severity: medium
needs_level: Metadata
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:System ClusterRole Modified/Deleted]
mitre: [T1098]
pattern: [summary]
scope: event
description: >-
  A create, update, patch or delete of a role or cluster role whose name starts with system:, other than
  system:coredns and system:managed-certificate-controller.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} {} {} {}', falco_user, verb, resource, falco_object) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource IN ('roles', 'clusterroles') AND verb IN ('create', 'update', 'patch', 'delete')
  AND starts_with(object_name, 'system:')
  AND object_name NOT IN ('system:coredns', 'system:managed-certificate-controller')
ORDER BY ts, audit_id

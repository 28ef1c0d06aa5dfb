/* ---
id: falco-clusterrole-with-pod-exec-created
title: Role or cluster role granting pods/exec created
kind: detection
severity: medium
needs_level: Request
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:ClusterRole With Pod Exec Created]
mitre: [T1098, T1609]
pattern: [summary]
scope: event
description: >-
  A role or cluster role created whose rules name the pods/exec resource.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created {} {} granting pods/exec', falco_user, resource, falco_object) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource IN ('roles', 'clusterroles') AND verb = 'create' AND list_contains(json_extract_string(request_object, '$.rules[*].resources[*]'), 'pods/exec')
ORDER BY ts, audit_id

/* ---
id: falco-attach-cluster-admin-role
title: ClusterRoleBinding to cluster-admin created
kind: detection
severity: medium
needs_level: Request
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:Attach to cluster-admin Role]
mitre: [T1098]
pattern: [summary]
superseded_by: [privileged-role-binding]
scope: event
description: >-
  A ClusterRoleBinding created whose roleRef is cluster-admin.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} bound {} to cluster-admin via {}', falco_user, coalesce(CAST(json_extract(request_object, '$.subjects[*].name') AS VARCHAR), '?'), falco_object) AS summary,
    cluster,
    CAST(json_extract(request_object, '$.subjects') AS VARCHAR) AS subjects
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'clusterrolebindings' AND verb = 'create' AND request_object->>'$.roleRef.name' = 'cluster-admin'
ORDER BY ts, audit_id

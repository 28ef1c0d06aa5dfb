/* ---
id: integrity-audit-id-conflict
title: Same auditID and stage recorded with different content
kind: detection
severity: high
needs_level: Metadata
area: integrity
controls:
- pci-dss-4.0:10.3.2
- pci-dss-4.0:10.3.4
- nist-800-53-r5:AU-9
- iso-27001-2022:A.5.33
- iso-27001-2022:A.5.28
- iso-27001-2022:A.8.15
references: [catalog:audit-trail-integrity]
mitre: [T1070, T1036]
description: >-
  Two or more archived rows share an auditID and stage but differ in content (different event_hash). The API
  server copies the auditID from the client's Audit-ID request header, so a client can reuse the ID of an
  earlier request to make its own request look like a duplicate that a naive pipeline would drop; a log
  shipper replaying altered events produces the same pattern. The archive keeps both rows, and this query
  shows every conflicting pair with what differs (user, verb, object, time).
--- */
WITH rows AS (
    SELECT audit_id, stage, event_hash, request_ts, stage_ts, user_name, client_ip(source_ips) AS source_ip, verb,
           resource, namespace, object_name, request_uri, user_agent, cluster
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
),
dupes AS (
    SELECT audit_id, stage, cluster
    FROM rows
    GROUP BY audit_id, stage, cluster
    HAVING count(DISTINCT event_hash) > 1
)
SELECT
    min(r.request_ts) AS ts, r.audit_id, arg_max(r.user_name, r.request_ts) AS user_name,
    arg_max(r.source_ip, r.request_ts) AS source_ip, arg_max(r.verb, r.request_ts) AS verb,
    arg_max(r.resource, r.request_ts) AS resource, arg_max(r.namespace, r.request_ts) AS namespace,
    arg_max(r.object_name, r.request_ts) AS object_name,
    format('auditID {} (stage {}) appears {} times with different content: users [{}], requests [{}]', r.audit_id,
           r.stage, count(*), array_to_string(list_distinct(list(r.user_name)), ', '),
           array_to_string(list_distinct(list(r.verb || ' ' || r.request_uri)), ' | ')) AS summary,
    r.cluster, r.stage, count(*) AS copies, list_distinct(list(r.user_name)) AS users,
    list_distinct(list(r.request_uri)) AS request_uris, list_distinct(list(r.user_agent)) AS user_agents
FROM rows r JOIN dupes d USING (audit_id, stage, cluster)
GROUP BY r.audit_id, r.stage, r.cluster
ORDER BY ts

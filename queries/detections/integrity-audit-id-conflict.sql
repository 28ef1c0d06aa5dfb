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
lookback_minutes: 10080
description: >-
  Two or more archived rows share an auditID and stage but differ in content (different event_hash). The API
  server copies the auditID from the client's Audit-ID request header, so a client can reuse the ID of an
  earlier request to make its own request look like a duplicate that a naive pipeline would drop; a log
  shipper replaying altered events produces the same pattern. The archive keeps both rows, and this query
  shows the conflicting copies with what differs (user, verb, object, time): one finding per cluster, auditID,
  stage and UTC day with a copy, comparing that day's copies with each other and with those of the 7 days
  before the day (lookback_minutes), so an ID reused within a week is reported on the day of the reuse (the
  ingest summary counts reuses against the whole archive).
triage: >-
  Read the `users`, `request_uris` and `user_agents` evidence: copies with the same user and URI that differ
  only in detail (a shipper re-sending an event with changed serialisation or annotations, or the logs of an
  aggregated API server or proxy that received the forwarded Audit-ID header shipped under the same cluster)
  are a pipeline matter. Copies with different users or requests under one auditID mean a client set the
  Audit-ID header itself to make its request look like a duplicate, or events were altered before ingest.
  Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, stage, user_name, verb, request_uri,
  source_ips, user_agent FROM events WHERE audit_id = 'AUDIT_ID' ORDER BY request_ts"`, then `kanalytics
  verify` to confirm the archived files themselves are intact.
remediation: >-
  If a client reused the ID, identify it from the `source_ips` and `user_agent` of the later copy, review that
  request as activity someone tried to hide, and revoke its credential. If the shipper changed or replayed
  events, stop it, compare with the API server's own audit log files and re-ingest from them. Downstream tools
  should deduplicate on the event's content, never on the auditID alone. There is no allow-list: record an
  explained pipeline duplicate with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
WITH span AS (
    SELECT cluster, audit_id, stage, event_hash, request_ts
    FROM events
    -- the period and the lookback before it (lookback_minutes in the header: 10080, 7 days)
    WHERE request_ts >= $period_start - INTERVAL 10080 MINUTE AND request_ts < $period_end
),
conflicted AS (  -- the only keys that can conflict on some day: two different copies anywhere in the span
    SELECT cluster, audit_id, stage FROM span GROUP BY ALL HAVING count(DISTINCT event_hash) > 1
),
rows AS (
    SELECT audit_id, stage, event_hash, request_ts, user_name, client_ip(source_ips) AS source_ip, verb,
           resource, namespace, object_name, request_uri, user_agent, cluster
    FROM events SEMI JOIN conflicted USING (cluster, audit_id, stage)
    WHERE request_ts >= $period_start - INTERVAL 10080 MINUTE AND request_ts < $period_end
),
days AS (  -- each auditID and stage with a copy in the period, once per UTC day of its copies
    SELECT DISTINCT cluster, audit_id, stage, date_trunc('day', request_ts) AS day
    FROM rows
    WHERE request_ts >= $period_start
),
compared AS (  -- per such day: the copies of that day and of the lookback before it
    SELECT d.day, r.*
    FROM days d JOIN rows r USING (cluster, audit_id, stage)
    WHERE r.request_ts >= d.day - INTERVAL 10080 MINUTE AND r.request_ts < d.day + INTERVAL 1 DAY
)
SELECT
    min(request_ts) FILTER (WHERE request_ts >= day) AS ts, audit_id,
    arg_max(user_name, (request_ts, event_hash)) AS user_name, arg_max(source_ip, (request_ts, event_hash)) AS source_ip,
    arg_max(verb, (request_ts, event_hash)) AS verb, arg_max(resource, (request_ts, event_hash)) AS resource,
    arg_max(namespace, (request_ts, event_hash)) AS namespace, arg_max(object_name, (request_ts, event_hash)) AS object_name,
    format('auditID {} (stage {}) appears {} times with different content: users [{}], requests [{}]', audit_id,
           stage, count(*), array_to_string(list_sort(list_distinct(list(user_name))), ', '),
           array_to_string(list_sort(list_distinct(list(verb || ' ' || request_uri))), ' | ')) AS summary,
    cluster, stage, count(*) AS copies, count(*) FILTER (WHERE request_ts < day) AS copies_before_the_day,
    list_sort(list_distinct(list(user_name))) AS users, list_sort(list_distinct(list(request_uri))) AS request_uris,
    list_sort(list_distinct(list(user_agent))) AS user_agents
FROM compared
GROUP BY cluster, audit_id, stage, day
HAVING count(DISTINCT event_hash) > 1
ORDER BY ts

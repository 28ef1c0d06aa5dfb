/* ---
id: integrity-clock-jump
title: Clock jump inside a request (impossible latency)
kind: detection
severity: medium
needs_level: Metadata
area: integrity
controls:
- pci-dss-4.0:10.6.1
- pci-dss-4.0:10.6.2
- nist-800-53-r5:AU-8
- nist-800-53-r5:AU-12(1)
- iso-27001-2022:A.8.17
references: [catalog:audit-trail-integrity]
mitre: [T1070.006]
description: >-
  Short requests (everything except watches, exec/attach/port-forward/proxy sessions and followed logs) whose
  recorded latency, stageTimestamp minus requestReceivedTimestamp, exceeds 15 minutes; and requests whose
  stages are out of order (a later stage stamped earlier than an earlier one). The API server times out
  ordinary requests after 60 seconds, so such latencies mean the API server's clock was stepped forward or
  backward mid-request, which makes every timestamp around it unreliable as evidence. Stages are compared
  within one request's UTC day (its requestReceivedTimestamp). One finding per cluster and UTC day.
--- */
WITH ordered AS (
    SELECT *,
        CASE stage WHEN 'RequestReceived' THEN 1 WHEN 'ResponseStarted' THEN 2 WHEN 'ResponseComplete' THEN 3 ELSE 4 END AS stage_no
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
),
flagged AS (
    SELECT *, epoch(stage_ts) - epoch(request_ts) AS latency_s,
        CASE WHEN stage_ts < max(stage_ts) OVER (PARTITION BY cluster, audit_id, date_trunc('day', request_ts) ORDER BY stage_no, stage_ts
                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
             THEN 'stages out of order' ELSE 'latency ' END AS kind
    FROM ordered
),
bad AS (
    -- worst: the row the finding shows (the largest latency, ties broken so every run picks the same)
    SELECT *, (abs(latency_s), request_ts, audit_id, event_hash) AS worst FROM flagged
    WHERE kind = 'stages out of order'
       OR (latency_s > 900
           AND verb NOT IN ('watch', 'connect')
           AND coalesce(subresource, '') NOT IN ('exec', 'attach', 'portforward', 'proxy', 'log')
           AND request_uri NOT LIKE '%watch=%')
)
SELECT
    min(request_ts) AS ts, arg_max(audit_id, worst) AS audit_id, arg_max(user_name, worst) AS user_name,
    arg_max(client_ip(source_ips), worst) AS source_ip, arg_max(verb, worst) AS verb,
    arg_max(resource, worst) AS resource, arg_max(namespace, worst) AS namespace,
    arg_max(object_name, worst) AS object_name,
    format('{} request(s) in cluster {} on {} show a clock jump ({}; largest apparent latency {} s)', count(*), cluster,
           strftime(min(request_ts), '%Y-%m-%d'), array_to_string(list_sort(list_distinct(list(trim(kind)))), ', '),
           round(max(latency_s), 1)) AS summary,
    cluster, count(*) AS events, round(max(latency_s), 3) AS max_latency_seconds
FROM bad
GROUP BY cluster, date_trunc('day', request_ts)
ORDER BY ts

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
triage: >-
  Check `max_latency_seconds` and the `summary` (latency or stages out of order) against the host's time
  service: one burst of affected requests at one moment, on one day, usually matches an NTP step after a
  control-plane VM resumed, migrated or booted with a wrong clock. The `verb`, `resource` and `object_name`
  are those of the worst request; a long call that is not a stream (a slow admission webhook or aggregated
  API) stays under the 60-second timeout, so it does not explain minutes. Follow-up: `kanalytics sql --month
  YYYY-MM "SELECT audit_id, stage, request_ts, stage_ts, verb, request_uri FROM events WHERE audit_id =
  'AUDIT_ID' ORDER BY stage_ts"`, then the control-plane hosts' time-sync log (`chronyc tracking`, or the
  provider's control-plane logs for a managed cluster).
remediation: >-
  Fix time synchronisation on the control-plane hosts (chrony against trusted sources, an alert on offset) so
  that audit times stay evidence. Until then, read the events around the jump with care: ordering-based
  detections (bursts, denied-then-privileged) may have missed or invented sequences there. If no clock step
  explains it, treat it as possible tampering in the log pipeline: run `kanalytics verify` and compare with
  the API server's own audit files; a confirmed NTP step is recorded with `kanalytics triage set FINDING_ID
  --verdict benign --note ... --by ...`.
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

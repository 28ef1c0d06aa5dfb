/* ---
id: integrity-stage-before-request
title: Event stage timestamp earlier than the request it belongs to
kind: detection
severity: medium
needs_level: Metadata
area: integrity
controls:
- pci-dss-4.0:10.6.1
- pci-dss-4.0:10.6.2
- pci-dss-4.0:10.3.4
- nist-800-53-r5:AU-8
- nist-800-53-r5:AU-12(1)
- iso-27001-2022:A.8.17
- iso-27001-2022:A.5.33
references: [catalog:audit-trail-integrity]
mitre: [T1070.006]
description: >-
  Rows whose stageTimestamp is earlier than their requestReceivedTimestamp (by more than one second, to allow
  for rounding). The API server stamps both from the same clock, in order, so a stage that ends before its
  request began means the clock was stepped backwards during the request or the event was edited after the
  fact. One finding per cluster and UTC day, with the number of such rows and the largest difference.
triage: >-
  See how many `events` are affected and how far behind (`max_seconds_behind`): many events of one short
  period, all behind by about the same amount, is the API server's clock stepped backwards (an NTP correction
  after a VM pause or restore); a few isolated events with large or varying differences, or with a user or
  request that makes no sense for the cluster, suggests events edited after the fact. Follow-up: `kanalytics
  sql --month YYYY-MM "SELECT audit_id, stage, request_ts, stage_ts, user_name, request_uri FROM events WHERE
  cluster = 'CLUSTER' AND stage_ts < request_ts - INTERVAL 1 SECOND ORDER BY request_ts LIMIT 100"` lists the
  rows, to compare with the hosts' time-sync log.
remediation: >-
  For a clock step, fix time synchronisation on the control plane (trusted NTP sources, slewing rather than
  stepping once running, an offset alert) and note that event order in that window is unreliable. For edited
  events, run `kanalytics verify`, compare the rows with the API server's own audit files, find the pipeline
  stage that rewrote them and re-ingest from the source. Record an explained clock correction with `kanalytics
  triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
WITH bad AS (
    SELECT *, epoch(request_ts) - epoch(stage_ts) AS behind_s,
        -- the row the finding shows: the largest difference, ties broken so every run picks the same
        (behind_s, request_ts, audit_id, event_hash) AS worst
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage_ts < request_ts - INTERVAL 1 SECOND
)
SELECT
    min(request_ts) AS ts, arg_max(audit_id, worst) AS audit_id, arg_max(user_name, worst) AS user_name,
    arg_max(client_ip(source_ips), worst) AS source_ip, arg_max(verb, worst) AS verb,
    arg_max(resource, worst) AS resource, arg_max(namespace, worst) AS namespace,
    arg_max(object_name, worst) AS object_name,
    format('{} event(s) in cluster {} on {} have a stage timestamp before the request was received (up to {} s earlier)',
           count(*), cluster, strftime(min(request_ts), '%Y-%m-%d'), round(max(behind_s), 1)) AS summary,
    cluster, count(*) AS events, round(max(behind_s), 3) AS max_seconds_behind
FROM bad
GROUP BY cluster, date_trunc('day', request_ts)
ORDER BY ts

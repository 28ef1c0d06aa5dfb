/* ---
id: off-hours-activity
title: Person active at an hour or on a weekday they never work
kind: anomaly
severity: medium
needs_level: Metadata
area: anomalies
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.4.1
- pci-dss-4.0:10.4.2
- hipaa:164.308(a)(1)(ii)(D)
references: [catalog:admin-off-hours, guardduty:Execution:Kubernetes/AnomalousBehavior.ExecInPod]
mitre: [T1078]
baseline_days: 30
description: >-
  Judges each UTC day of the period against the baseline_days days before it (a rolling baseline, so later
  days of a month are compared with earlier ones too): each person's activity on the day against their own
  working pattern in that window. An hour is unusual when the person made no request in that hour of day, nor
  the hour before or after, on any day of the window, or when the weekday is one they did not work in the
  window. Hours and weekdays are those of the configured time zone (`timezone` in kanalytics.toml, bound as
  $timezone; UTC by default). One finding per person and UTC day (a working session that crosses midnight UTC
  is judged as two days), with the number of off-pattern requests as the score. Only people (not service
  accounts, nodes or components) with at least 3 active days (configured time zone) in the window are judged,
  so a thin history does not make everything look unusual; break-glass accounts are listed in
  allow_break_glass_users.
triage: >-
  Compare the hours and weekdays in `baseline` with the session in `summary` (time zone as configured), then
  check for an innocent reason: an on-call page or incident at that time, travel, a release scheduled out of
  hours. The `source_ips` evidence should be the person's usual VPN or office addresses, and the requests
  ordinary reads; writes, Secret reads or an unfamiliar address at 3 a.m. suggest someone else holds the
  credential. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, verb, resource, namespace,
  object_name, source_ips[-1] AS client_ip, user_agent FROM events WHERE user_name = 'USER' AND request_ts
  BETWEEN TIMESTAMPTZ 'TS' AND TIMESTAMPTZ 'TS' + INTERVAL 1 DAY AND stage = 'ResponseComplete' ORDER BY
  request_ts"` lists what was done.
remediation: >-
  If it was not the person, disable the account's sessions at the identity provider, revoke its kubeconfig
  credentials and review the changes made in the session. If it was on-call or a planned change, record it
  with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`, referencing the incident.
  Emergency accounts belong in `[[allowlists.break_glass_users]]` and bots classified as people in
  `[[allowlists.automation_users]]`; make sure `timezone` in kanalytics.toml is the team's.
spark: >-
  shows one sample event's object_name picked with any_value; Spark and DuckDB pick different events of the
  same hour, so the rows differ
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           local_ts, hour(local_ts) AS hod, isodow(local_ts) AS dow, local_ts::DATE AS local_day,
           date_trunc('day', request_ts) AS day
    FROM (SELECT *, timezone($timezone, request_ts) AS local_ts FROM events)
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND is_human(user_name, user_groups)
      AND user_name NOT IN (SELECT value FROM allow_break_glass_users)
      AND user_name NOT IN (SELECT value FROM allow_automation_users)
),
daily AS (  -- per person and UTC day: the local hours, weekdays and days they worked
    SELECT cluster, user_name, day, list(DISTINCT hod) AS hours, list(DISTINCT dow) AS dows,
           list(DISTINCT local_day) AS local_days
    FROM ev GROUP BY cluster, user_name, day
),
base AS (  -- each UTC day's window: the baseline_days days before it
    SELECT cluster, user_name, day,
           list_distinct(flatten(list(hours) OVER w)) AS hours, list_distinct(flatten(list(dows) OVER w)) AS dows,
           len(list_distinct(flatten(list(local_days) OVER w))) AS days
    FROM daily
    WINDOW w AS (PARTITION BY cluster, user_name ORDER BY day
                 RANGE BETWEEN ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) PRECEDING AND INTERVAL 1 DAY PRECEDING)
),
odd AS (
    SELECT e.*, b.hours, b.dows, b.days,
           NOT list_has_any(b.hours, [(e.hod + 23) % 24, e.hod, (e.hod + 1) % 24]) AS odd_hour,
           NOT list_contains(b.dows, e.dow) AS odd_day
    FROM ev e JOIN base b USING (cluster, user_name, day)
    WHERE e.request_ts >= $period_start AND b.days >= 3
)
SELECT
    min(request_ts) AS ts, cluster, arg_min(audit_id, (request_ts, audit_id)) AS audit_id, user_name,
    arg_min(source_ip, (request_ts, audit_id)) AS source_ip, arg_min(verb, (request_ts, audit_id)) AS verb,
    arg_min(resource, (request_ts, audit_id)) AS resource, arg_min(namespace, (request_ts, audit_id)) AS namespace,
    arg_min(object_name, (request_ts, audit_id)) AS object_name,
    format('{} made {} request(s) on {} ({}) between {} and {} {}, outside their usual {}', user_name, count(*),
           strftime(min(local_ts), '%Y-%m-%d'), dayname(min(local_ts)), strftime(min(local_ts), '%H:%M'),
           CASE WHEN max(local_day) > min(local_day) THEN strftime(max(local_ts), '%Y-%m-%d %H:%M')
                ELSE strftime(max(local_ts), '%H:%M') END,
           $timezone,
           CASE WHEN bool_or(odd_day) AND bool_or(odd_hour) THEN 'hours and weekdays'
                WHEN bool_or(odd_day) THEN 'weekdays' ELSE 'hours' END) AS summary,
    count(*)::DOUBLE AS score,
    format('active {} day(s) in the baseline window before {} UTC, {} hours {}, weekdays {}', any_value(days),
           strftime(day, '%Y-%m-%d'), $timezone, array_to_string(list_sort(any_value(hours)), ','),
           array_to_string(list_sort(any_value(dows)), ',')) AS baseline,
    list_sort(list_distinct(list(source_ip))) AS source_ips
FROM odd
WHERE odd_hour OR odd_day
GROUP BY cluster, user_name, day
ORDER BY ts, audit_id

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
  Compares each person's activity in the period with their own working pattern in the baseline window: an hour
  is unusual when the person made no request in that hour of day, nor the hour before or after, on any
  baseline day, or when the weekday is one they never worked in the baseline. Hours, weekdays and days are
  those of the configured time zone (`timezone` in kanalytics.toml, bound as $timezone; UTC by default), so a
  working day that crosses midnight UTC stays one day. One finding per person and day, with the number of
  off-pattern requests as the score. Only people (not service accounts, nodes or components) with at least 3
  active baseline days are judged, so a thin history does not make everything look unusual; break-glass
  accounts are listed in allow_break_glass_users.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           local_ts, hour(local_ts) AS hod, isodow(local_ts) AS dow, local_ts::DATE AS local_day
    FROM (SELECT *, timezone($timezone, request_ts) AS local_ts FROM events)
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND is_human(user_name, user_groups)
      AND user_name NOT IN (SELECT value FROM allow_break_glass_users)
      AND user_name NOT IN (SELECT value FROM allow_automation_users)
),
base AS (
    SELECT cluster, user_name, list_distinct(list(hod)) AS hours, list_distinct(list(dow)) AS dows,
           count(DISTINCT local_day) AS days
    FROM ev WHERE request_ts < $period_start GROUP BY cluster, user_name
    HAVING count(DISTINCT local_day) >= 3
),
odd AS (
    SELECT e.*, b.hours, b.dows, b.days,
           NOT list_has_any(b.hours, [(e.hod + 23) % 24, e.hod, (e.hod + 1) % 24]) AS odd_hour,
           NOT list_contains(b.dows, e.dow) AS odd_day
    FROM ev e JOIN base b USING (cluster, user_name)
    WHERE e.request_ts >= $period_start
)
SELECT
    min(request_ts) AS ts, cluster, arg_min(audit_id, request_ts) AS audit_id, user_name,
    arg_min(source_ip, request_ts) AS source_ip, arg_min(verb, request_ts) AS verb,
    arg_min(resource, request_ts) AS resource, arg_min(namespace, request_ts) AS namespace,
    arg_min(object_name, request_ts) AS object_name,
    format('{} made {} request(s) on {} ({}) between {} and {} {}, outside their usual {}', user_name, count(*),
           strftime(min(local_ts), '%Y-%m-%d'), dayname(min(local_ts)), strftime(min(local_ts), '%H:%M'),
           strftime(max(local_ts), '%H:%M'), $timezone,
           CASE WHEN bool_or(odd_day) AND bool_or(odd_hour) THEN 'hours and weekdays'
                WHEN bool_or(odd_day) THEN 'weekdays' ELSE 'hours' END) AS summary,
    count(*)::DOUBLE AS score,
    format('active {} baseline day(s), {} hours {}, weekdays {}', any_value(days), $timezone,
           array_to_string(list_sort(any_value(hours)), ','), array_to_string(list_sort(any_value(dows)), ',')) AS baseline,
    list_distinct(list(source_ip)) AS source_ips
FROM odd
WHERE odd_hour OR odd_day
GROUP BY cluster, user_name, local_day
ORDER BY ts

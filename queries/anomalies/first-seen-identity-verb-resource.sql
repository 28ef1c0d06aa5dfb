/* ---
id: first-seen-identity-verb-resource
title: Identity performs a sensitive action it never performed before
kind: anomaly
severity: low
needs_level: Metadata
area: anomalies
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.3, soc2:CC7.2, iso-27001-2022:A.8.16]
references:
- catalog:rare-kubectl-calls
- catalog:rare-rbac-authz-reason
- guardduty:PrivilegeEscalation:Kubernetes/AnomalousBehavior.RoleBindingCreated
- guardduty:PrivilegeEscalation:Kubernetes/AnomalousBehavior.RoleCreated
- guardduty:Discovery:Kubernetes/AnomalousBehavior.PermissionChecked
mitre: [T1078, T1613]
baseline_days: 30
description: >-
  Judges each UTC day of the period against the baseline_days days before it (a rolling baseline, so later
  days of a month are compared with earlier ones too): per identity, the (verb, resource, subresource)
  combinations that succeeded on the day against those of its window, and reports, per UTC day, the first use
  of each combination the identity did not use in that window. To keep the queue readable, service accounts
  are judged on every combination (applications are repetitive, so anything new is telling), people only on
  writes and on sensitive reads (secrets, RBAC objects, exec/attach/port-forward, tokens, nodes). An identity
  with no activity at all in the window is reported once per combination and day with the baseline "identity
  not seen". Score 2 when the identity itself is new, 1 otherwise.
triage: >-
  Read `action` with `namespace` and `object_name`, and the `baseline` (score 2: the identity itself is new):
  a service account starting a new kind of request right after its application was upgraded, or an engineer
  new to the team, are the usual causes. A workload account that suddenly lists Secrets, creates pods or
  bindings, or opens exec sessions it never needed is acting outside its purpose. Follow-up: `kanalytics sql
  --month YYYY-MM "SELECT request_ts, verb, resource, subresource, namespace, object_name, response_code FROM
  events WHERE user_name = 'USER' AND request_ts >= TIMESTAMPTZ 'TS' - INTERVAL 1 HOUR AND stage =
  'ResponseComplete' ORDER BY request_ts LIMIT 200"` puts the action in context.
remediation: >-
  If it is not the identity's job, revoke the credential, undo what the action changed and find how it was
  obtained. Either way, trim the identity's RBAC to what its baseline shows it uses, so that a stolen token
  cannot do the new thing. For an identity that keeps legitimately branching out (an operator adding
  features), add it to `[allowlists.query_lists] first-seen-identity-verb-resource` with a reason.
spark: >-
  its WHERE compares previous_day with day - ($period_start - $baseline_start), an interval computed from two
  parameters; Spark 3.5 refuses that statement with a PARSE_SYNTAX_ERROR at this comparison (the frame-bound
  folding covers window frames only)
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           user_agent, verb || ' ' || resource || coalesce('/' || nullif(subresource, ''), '') AS action,
           is_service_account(user_name) AS is_sa, date_trunc('day', request_ts) AS day
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived' AND resource IS NOT NULL
      AND response_code < 400
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
daily AS (  -- per identity, UTC day and action: its first use that day
    SELECT * FROM ev
    QUALIFY row_number() OVER (PARTITION BY cluster, user_name, day, action ORDER BY request_ts, audit_id) = 1
),
judged AS (  -- each day against the identity's own window: the baseline_days days before it
    SELECT *,
           lag(day) OVER (PARTITION BY cluster, user_name, action ORDER BY day) AS previous_day,
           count(DISTINCT action) OVER w AS actions, count(DISTINCT day) OVER w AS days
    FROM daily
    WINDOW w AS (PARTITION BY cluster, user_name ORDER BY day
                 RANGE BETWEEN ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) PRECEDING AND INTERVAL 1 DAY PRECEDING)
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} performed "{}", not performed in the baseline window before {}{} ({}{})', user_name, action,
           strftime(day, '%Y-%m-%d'), CASE WHEN days = 0 THEN ' (identity not seen in it)' ELSE '' END,
           coalesce(namespace || '/', ''), coalesce(object_name, '*')) AS summary,
    (CASE WHEN days = 0 THEN 2 ELSE 1 END)::DOUBLE AS score,
    CASE WHEN days = 0 THEN format('identity not seen in the baseline window before {}', strftime(day, '%Y-%m-%d'))
         ELSE format('{} distinct action(s) in {} active day(s) of the baseline window before {}', actions, days,
                     strftime(day, '%Y-%m-%d')) END AS baseline,
    action, user_agent
FROM judged
WHERE request_ts >= $period_start
  AND (previous_day IS NULL OR previous_day < day - ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ))
  AND (is_sa
       OR verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')
       OR resource IN ('secrets', 'roles', 'clusterroles', 'rolebindings', 'clusterrolebindings', 'nodes',
                       'certificatesigningrequests', 'serviceaccounts')
       OR action SIMILAR TO '.*/(exec|attach|portforward|proxy|token)')
  AND resource NOT IN ('selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'tokenreviews', 'subjectaccessreviews')
  AND NOT allowlisted($query_id, [user_name])
ORDER BY ts, audit_id

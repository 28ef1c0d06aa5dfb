/* ---
id: denied-then-privileged
title: Denied probing followed by a successful privileged action
kind: anomaly
severity: high
needs_level: Metadata
area: anomalies
controls:
- pci-dss-4.0:10.2.1.4
- pci-dss-4.0:10.2.1.5
- nist-800-53-r5:AU-6
- nist-800-53-r5:AU-6(3)
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.308(a)(5)(ii)(C)
references:
- elastic:Kubernetes Sensitive RBAC Change Followed by Workload Modification
- catalog:rbac-then-workload
- catalog:authz-denied-burst
mitre: [T1613, T1098.006, T1078]
baseline_days: 30
lookback_minutes: 420
description: >-
  A multi-step correlation: an identity was denied at least 5 requests within one hour, and within the
  following 6 hours the same identity succeeded at a privileged action: writing RBAC objects,
  exec/attach/port-forward into a pod, minting a service-account token, creating or approving a certificate
  request, changing admission webhooks, or listing Secrets. Probing first and then succeeding is the shape of
  an attacker who found (or granted themselves) the missing permission. One finding per identity and
  privileged action per UTC day, at its first success that day (the denials may come from up to 7 hours before
  the day). The score is the number of denials; the baseline column says how often the same identity was
  denied in the baseline_days days before that day (a rolling baseline), to tell a chronically misconfigured
  client from a new one.
triage: >-
  Read the `baseline` (was this identity denied often before: a chronically misconfigured client) and the
  privileged action in `verb`, `resource` and `object_name`, then find what changed between `first_denial` and
  `ts`: an engineer who lacked a permission, got a binding through a ticket and then did the work, or a GitOps
  controller failing until its RBAC synced, are benign. The identity granting itself the right, another
  account granting it without a ticket, or a success that needs no new grant (a token minted after probing) is
  an attack in progress. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, verb, resource,
  subresource, namespace, object_name, response_code FROM events WHERE user_name = 'USER' AND request_ts
  BETWEEN TIMESTAMPTZ 'FIRST_DENIAL' AND TIMESTAMPTZ 'TS' AND stage = 'ResponseComplete' ORDER BY
  request_ts"`, and `kanalytics incidents --month YYYY-MM` for the incident it belongs to.
remediation: >-
  If it is an attack, revoke the identity's credential, undo the privileged action (delete the binding, token,
  webhook or certificate request; restart pods it exec'd into and rotate their Secrets) and revert the RBAC
  change that made it possible, whoever made it. Review the identity's other activity in the incident. The
  query has no allow-list: fix the RBAC of a chronically denied client so it stops probing, and record a
  reviewed sequence with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, subresource, namespace,
           object_name, response_code, authz_decision, date_trunc('day', request_ts) AS day,
           response_code = 403 OR authz_decision = 'forbid' AS denied
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage = 'ResponseComplete'
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
denials AS (
    SELECT cluster, user_name, request_ts,
           count(*) OVER (PARTITION BY cluster, user_name ORDER BY request_ts RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND CURRENT ROW) AS in_hour
    FROM ev
    WHERE denied AND request_ts >= $period_start - INTERVAL 7 HOUR
),
bursts AS (
    SELECT cluster, user_name, request_ts AS burst_ts, in_hour FROM denials WHERE in_hour >= 5
),
priv AS (
    SELECT * FROM ev
    WHERE request_ts >= $period_start AND response_code < 400
      AND ((resource IN ('roles', 'clusterroles', 'rolebindings', 'clusterrolebindings')
            AND verb IN ('create', 'update', 'patch', 'delete', 'bind', 'escalate'))
           OR (resource = 'pods' AND subresource IN ('exec', 'attach', 'portforward'))
           OR (resource = 'serviceaccounts' AND subresource = 'token')
           OR resource = 'certificatesigningrequests' AND verb IN ('create', 'update', 'patch')
           OR (resource IN ('mutatingwebhookconfigurations', 'validatingwebhookconfigurations')
               AND verb IN ('create', 'update', 'patch', 'delete'))
           OR (resource = 'secrets' AND verb IN ('list', 'watch')))
),
pairs AS (
    SELECT p.*, max(b.in_hour) AS denials, min(b.burst_ts) AS first_denial
    FROM priv p JOIN bursts b
      ON b.cluster = p.cluster AND b.user_name = p.user_name AND b.burst_ts < p.request_ts AND b.burst_ts >= p.request_ts - INTERVAL 6 HOUR
    GROUP BY ALL
),
denied_days AS (  -- denials per identity and UTC day, summed over each day's window: the baseline_days days before it
    SELECT cluster, user_name, day,
           coalesce(sum(n) OVER (PARTITION BY cluster, user_name ORDER BY day
                                 RANGE BETWEEN ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) PRECEDING AND INTERVAL 1 DAY PRECEDING), 0) AS denied
    FROM (SELECT cluster, user_name, day, count(*) FILTER (WHERE denied) AS n FROM ev GROUP BY ALL)
)
SELECT
    p.request_ts AS ts, p.cluster, p.audit_id, p.user_name, p.source_ip, p.verb, p.resource, p.namespace, p.object_name,
    format('{} was denied {} requests within an hour (from {} UTC), then succeeded at {} {}{} {}', p.user_name, p.denials,
           strftime(p.first_denial, '%H:%M'), p.verb, p.resource, coalesce('/' || nullif(p.subresource, ''), ''),
           coalesce(p.namespace || '/', '') || coalesce(p.object_name, '')) AS summary,
    p.denials::DOUBLE AS score,
    format('{} denied request(s) by this identity in the baseline window before {}', coalesce(d.denied, 0),
           strftime(p.day, '%Y-%m-%d')) AS baseline,
    p.first_denial
FROM pairs p LEFT JOIN denied_days d USING (cluster, user_name, day)
QUALIFY row_number() OVER (PARTITION BY p.cluster, p.user_name, p.verb, p.resource, p.subresource, p.day
                           ORDER BY p.request_ts, p.audit_id) = 1
ORDER BY ts, audit_id

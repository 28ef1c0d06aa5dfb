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
  Compares, per identity, the (verb, resource, subresource) combinations that succeeded in the period with
  those of the baseline window, and reports the first use of each new combination. To keep the queue readable,
  service accounts are judged on every combination (applications are repetitive, so anything new is telling),
  people only on writes and on sensitive reads (secrets, RBAC objects, exec/attach/port-forward, tokens,
  nodes). An identity with no baseline activity at all is reported once per combination with the baseline
  "identity never seen". Score 2 when the identity itself is new, 1 otherwise.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           user_agent, verb || ' ' || resource || coalesce('/' || nullif(subresource, ''), '') AS action,
           is_service_account(user_name) AS is_sa
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived' AND resource IS NOT NULL
      AND response_code < 400
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
base AS (
    SELECT cluster, user_name, list_distinct(list(action)) AS actions, count(DISTINCT date_trunc('day', request_ts)) AS days
    FROM ev WHERE request_ts < $period_start GROUP BY cluster, user_name
)
SELECT
    e.request_ts AS ts, e.cluster, e.audit_id, e.user_name, e.source_ip, e.verb, e.resource, e.namespace, e.object_name,
    format('{} performed "{}" for the first time{} ({}{})', e.user_name, e.action,
           CASE WHEN b.user_name IS NULL THEN ' (identity not seen in the baseline)' ELSE '' END,
           coalesce(e.namespace || '/', ''), coalesce(e.object_name, '*')) AS summary,
    (CASE WHEN b.user_name IS NULL THEN 2 ELSE 1 END)::DOUBLE AS score,
    CASE WHEN b.user_name IS NULL THEN 'identity never seen in the baseline window'
         ELSE format('{} distinct action(s) in {} active baseline day(s)', len(b.actions), b.days) END AS baseline,
    e.action, e.user_agent
FROM ev e LEFT JOIN base b USING (cluster, user_name)
WHERE e.request_ts >= $period_start
  AND (b.user_name IS NULL OR NOT list_contains(b.actions, e.action))
  AND (e.is_sa
       OR e.verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')
       OR e.resource IN ('secrets', 'roles', 'clusterroles', 'rolebindings', 'clusterrolebindings', 'nodes',
                         'certificatesigningrequests', 'serviceaccounts')
       OR e.action SIMILAR TO '.*/(exec|attach|portforward|proxy|token)')
  AND e.resource NOT IN ('selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'tokenreviews', 'subjectaccessreviews')
  AND NOT allowlisted($query_id, [e.user_name])
QUALIFY row_number() OVER (PARTITION BY e.cluster, e.user_name, e.action ORDER BY e.request_ts) = 1
ORDER BY ts

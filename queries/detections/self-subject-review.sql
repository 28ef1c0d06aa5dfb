/* ---
id: self-subject-review
title: Workload identity enumerating its own permissions
kind: detection
severity: low
needs_level: Metadata
area: rbac
controls: [nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references:
- elastic:Kubernetes Suspicious Self-Subject Review via Unusual User Agent
- sigma:RBAC Permission Enumeration Attempt
- datadog:Kubernetes principal attempted to enumerate their permissions
- catalog:self-subject-review
mitre: [T1069.003, T1613]
scope: event
description: >-
  A service account, node or anonymous caller created a SelfSubjectAccessReview or SelfSubjectRulesReview
  (kubectl auth can-i). People check their rights routinely, so humans are not reported; applications almost
  never ask, so a workload identity doing it suggests someone is using its token interactively. Tools that do
  this by design (kube-state-metrics, some operators) belong in allow_automation_users.
triage: >-
  Read the `user_agent` evidence and `source_ip`: operators and dashboards that check their rights at start
  use their own client library from the pod network; kubectl, curl or a tool like kubectl-who-can or peirates,
  or an address outside the cluster, means a person holds the workload's token and is mapping what it can do.
  Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, verb, resource, namespace, object_name,
  response_code FROM events WHERE user_name = 'USER' AND request_ts >= TIMESTAMPTZ 'TS' AND stage =
  'ResponseComplete' ORDER BY request_ts LIMIT 200"` shows what the identity did after asking.
remediation: >-
  If it was interactive use, invalidate the token (delete the pods that run as the account and its legacy
  token Secrets, or recreate the account), find how it leaked (pod-exec into its pods, secrets reads) and
  review what it did. For a node or anonymous caller, check the node's credentials and anonymous bindings too.
  For a tool that asks by design, add its account to `[[allowlists.automation_users]]` or
  `[allowlists.query_lists] self-subject-review` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} checked its own permissions ({}) using "{}"', user_name, resource, user_agent) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND resource IN ('selfsubjectaccessreviews', 'selfsubjectrulesreviews') AND verb = 'create'
      AND (is_service_account(user_name) OR is_node(user_name) OR user_name = anonymous_user())
      AND NOT is_system_service_account(user_name)
  AND user_name NOT IN (SELECT value FROM allow_automation_users)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

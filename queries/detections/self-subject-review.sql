/* ---
id: self-subject-review
title: Workload identity enumerating its own permissions
kind: detection
severity: low
needs_level: Metadata
area: rbac
controls: ['nist-800-53-r5:AU-6', 'soc2:CC7.2', 'iso-27001-2022:A.8.16']
references: ['elastic:Kubernetes Suspicious Self-Subject Review via Unusual User Agent', 'sigma:RBAC Permission Enumeration Attempt', 'datadog:Kubernetes principal attempted to enumerate their permissions', 'catalog:self-subject-review']
mitre: [T1069.003, T1613]
description: >-
  A service account, node or anonymous caller created a SelfSubjectAccessReview or SelfSubjectRulesReview
  (kubectl auth can-i). People check their rights routinely, so humans are not reported; applications almost
  never ask, so a workload identity doing it suggests someone is using its token interactively. Tools that do
  this by design (kube-state-metrics, some operators) belong in allow_automation_users.
--- */
SELECT
    request_ts AS ts, audit_id, user_name, source_ips[1] AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} checked its own permissions ({}) using "{}"', user_name, resource, user_agent) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND resource IN ('selfsubjectaccessreviews', 'selfsubjectrulesreviews') AND verb = 'create'
      AND (user_name LIKE 'system:serviceaccount:%' OR user_name LIKE 'system:node:%' OR user_name = 'system:anonymous')
      AND user_name NOT LIKE 'system:serviceaccount:kube-system:%'
  AND user_name NOT IN (SELECT value FROM allow_automation_users)
  AND NOT EXISTS (SELECT 1 FROM allow_query_list l
                WHERE l.query_id = 'self-subject-review' AND l.value IN (e.user_name, e.namespace, e.object_name))
ORDER BY ts

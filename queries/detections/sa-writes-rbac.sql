/* ---
id: sa-writes-rbac
title: Service account changed RBAC objects
kind: detection
severity: medium
needs_level: Metadata
area: rbac
controls:
- pci-dss-4.0:10.2.1.5
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.2
- soc2:CC6.3
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
references: [elastic:Kubernetes Service Account Modified RBAC Objects, catalog:sa-writes-rbac]
mitre: [T1098.006]
scope: event
description: >-
  A service account outside kube-system created or deleted a Role, ClusterRole, RoleBinding or
  ClusterRoleBinding. Applications should not manage RBAC; when one does, either it is an operator (list it in
  allow_automation_users) or its token is being used to grant someone more access. Updates and patches are not
  reported because GitOps controllers re-apply the RBAC objects they own on every sync; role-wildcard and
  role-sensitive-perms judge the content of such changes.
triage: >-
  Look at the service account in `user_name` (its namespace tells which application it belongs to) and the
  object it created or deleted: operators that manage per-tenant RBAC (Argo CD or Flux applying manifests,
  Strimzi, the Prometheus operator) do this on install and on new tenants; a web application's account doing
  it, a ClusterRoleBinding created by a workload, or a `source_ip` outside the pod network means someone uses
  the token to grant access. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, verb, resource,
  namespace, object_name, source_ips[-1] AS client_ip, user_agent FROM events WHERE user_name = 'USER' AND
  resource IN ('roles', 'clusterroles', 'rolebindings', 'clusterrolebindings') AND stage = 'ResponseComplete'
  ORDER BY request_ts"`.
remediation: >-
  If unauthorised, delete what it created (or restore what it deleted from Git), invalidate the account's
  tokens (restart its pods, delete legacy token Secrets, or recreate the account), and find how the token was
  taken (pod-exec, secrets reads). Remove RBAC write rights, above all `bind` and `escalate`, from application
  accounts. For an operator that manages RBAC by design, add its account to `[[allowlists.automation_users]]`
  or `[allowlists.query_lists] sa-writes-rbac` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} {} {}', user_name, verb_past(verb), resource, coalesce(object_name, request_object ->> '$.metadata.name', '?')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource IN ('roles', 'clusterroles', 'rolebindings', 'clusterrolebindings')
      AND verb IN ('create', 'delete', 'deletecollection')
      AND is_service_account(user_name) AND NOT is_system_service_account(user_name)
  AND user_name NOT IN (SELECT value FROM allow_automation_users)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

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

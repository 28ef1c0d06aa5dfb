/* ---
id: role-wildcard
title: Role or ClusterRole granting wildcard permissions
kind: detection
severity: high
needs_level: Request
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
references:
- elastic:Kubernetes Creation or Modification of Sensitive Role
- elastic:Kubernetes RBAC Wildcard Elevation on Existing Role
- panther:Kubernetes.Role.Wildcard
- catalog:role-wildcard
mitre: [T1098.006]
scope: event
description: >-
  A Role or ClusterRole was created or changed so that one of its rules uses '*' for verbs, resources or API
  groups (the resulting object in the response body is checked when present, otherwise the request). Wildcards
  grant every current and future permission, including escalate, bind and impersonate: cluster-admin by
  another name. The control plane's own aggregation of built-in roles is ignored.
triage: >-
  Check `resource` and `namespace` first: a namespaced Role with wildcards is full control of that namespace
  (its Secrets and workloads), a ClusterRole with them is cluster-admin under another name. Operators that
  manage arbitrary resources (Argo CD's application controller, Crossplane, some Helm charts) ship wildcard
  roles applied by the deployer; a person or an application account writing one, or a role that was narrow
  before and widened now, is an elevation. Follow-up: `kubectl get clusterrole NAME -o yaml` (or `kubectl get
  role -n NS NAME -o yaml`), and `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb FROM
  events WHERE resource IN ('roles', 'clusterroles') AND object_name = 'NAME' AND stage = 'ResponseComplete'
  ORDER BY request_ts"` for the role's history.
remediation: >-
  If unauthorised, delete the role or restore its previous rules, remove bindings to it, and review what its
  holders did after the change. For a tool that shipped a wildcard, ask for (or write) explicit verbs,
  resources and API groups, and keep escalate and bind out of it. A reviewed wildcard role can be added by
  name, or its deployer by user, to `[allowlists.query_lists] role-wildcard` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} {} {}{} with wildcard rules (verbs: {}; resources: {})', user_name, verb_past(verb), CASE resource WHEN 'roles' THEN 'Role' ELSE 'ClusterRole' END, CASE WHEN namespace IS NOT NULL THEN namespace || '/' ELSE '' END, coalesce(object_name, request_object ->> '$.metadata.name'), array_to_string(list_distinct(json_extract_string(coalesce(response_object, request_object), '$.rules[*].verbs[*]')), ','), array_to_string(list_distinct(json_extract_string(coalesce(response_object, request_object), '$.rules[*].resources[*]')), ',')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource IN ('roles', 'clusterroles') AND verb IN ('create', 'update', 'patch')
      AND (list_contains(json_extract_string(coalesce(response_object, request_object), '$.rules[*].verbs[*]'), '*')
           OR list_contains(json_extract_string(coalesce(response_object, request_object), '$.rules[*].resources[*]'), '*'))
      AND NOT is_platform_identity(user_name)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

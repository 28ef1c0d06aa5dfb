/* ---
id: role-sensitive-perms
title: Role or ClusterRole granting sensitive permissions
kind: detection
severity: medium
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
- panther:Kubernetes.Role.NodeProxyPermissions
- panther:Kubernetes.Role.PodExec
- catalog:role-sensitive-perms
mitre: [T1098.006]
pattern: [namespace, object_name]
scope: event
description: >-
  A Role or ClusterRole was created or changed with a rule that allows escalate, bind or impersonate, exec or
  attach into pods, nodes/proxy, minting service-account tokens, approving certificates, or reading Secrets.
  Each of these lets the holder gain more privilege than the role's name suggests. Wildcard roles are reported
  by role-wildcard; deployment tools that install reviewed roles can be listed in allow_automation_users.
triage: >-
  The `summary` lists the rules that matched (verbs and resources); read them with `object_name` and
  `user_name`. Operator charts installed by the deployer grant some of these by design (cert-manager and
  external-secrets read Secrets, Argo CD binds roles, Vault mints tokens); a person or an application account
  writing a role with escalate, bind, impersonate, pods/exec or nodes/proxy is how privilege is prepared
  before a binding gives it to someone. Follow-up: `kubectl get rolebindings,clusterrolebindings -A -o wide |
  grep NAME` shows who holds the role, and `kubectl get clusterrole NAME -o yaml` (or `kubectl get role -n NS
  NAME -o yaml`) its current rules.
remediation: >-
  If unauthorised, delete the bindings to the role and revert the role (or delete it), then check what its
  holders did since. Otherwise narrow it: `resourceNames` for Secret reads, no escalate, bind or impersonate
  outside the control plane, and pods/exec only in a dedicated on-call role. Add a deployer that installs
  reviewed roles to `[[allowlists.automation_users]]`, or a reviewed role by name to `[allowlists.query_lists]
  role-sensitive-perms`, with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} {} {}{} granting {}', user_name, verb_past(verb), CASE resource WHEN 'roles' THEN 'Role' ELSE 'ClusterRole' END, CASE WHEN namespace IS NOT NULL THEN namespace || '/' ELSE '' END, coalesce(object_name, request_object ->> '$.metadata.name'), array_to_string(list_transform(list_filter(json_extract(coalesce(response_object, request_object), '$.rules[*]'), lambda r:
             list_has_any(json_extract_string(r, '$.verbs[*]'), ['escalate', 'bind', 'impersonate'])
             OR list_has_any(json_extract_string(r, '$.resources[*]'),
                             ['pods/exec', 'pods/attach', 'nodes/proxy', 'serviceaccounts/token',
                              'certificatesigningrequests/approval'])
             OR (list_contains(json_extract_string(r, '$.resources[*]'), 'secrets')
                 AND list_has_any(json_extract_string(r, '$.verbs[*]'), ['get', 'list', 'watch']))), lambda r: array_to_string(json_extract_string(r, '$.verbs[*]'), ',') || ' ' || array_to_string(json_extract_string(r, '$.resources[*]'), ',')), '; ')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource IN ('roles', 'clusterroles') AND verb IN ('create', 'update', 'patch')
      AND len(list_filter(json_extract(coalesce(response_object, request_object), '$.rules[*]'), lambda r:
             list_has_any(json_extract_string(r, '$.verbs[*]'), ['escalate', 'bind', 'impersonate'])
             OR list_has_any(json_extract_string(r, '$.resources[*]'),
                             ['pods/exec', 'pods/attach', 'nodes/proxy', 'serviceaccounts/token',
                              'certificatesigningrequests/approval'])
             OR (list_contains(json_extract_string(r, '$.resources[*]'), 'secrets')
                 AND list_has_any(json_extract_string(r, '$.verbs[*]'), ['get', 'list', 'watch'])))) > 0
      AND NOT is_platform_identity(user_name)
  AND user_name NOT IN (SELECT value FROM allow_automation_users)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

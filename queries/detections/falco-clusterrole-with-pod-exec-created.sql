/* ---
id: falco-clusterrole-with-pod-exec-created
title: Role or cluster role granting pods/exec created
kind: detection
severity: medium
needs_level: Request
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:ClusterRole With Pod Exec Created]
mitre: [T1098, T1609]
pattern: [summary]
scope: event
description: >-
  A role or cluster role created whose rules name the pods/exec resource.
triage: >-
  `resource` says Role or ClusterRole, `object_name` and `namespace` which one, `user_name` who created it
  (the rule fires whether or not the create succeeded). Expected: charts that legitimately exec into pods,
  such as CI runners (GitLab Runner, Jenkins agents), backup hooks (Velero) or a web terminal, installed by
  the deployer; suspicious: a person creating such a role and binding it to themselves or to a service account
  shortly after. Read the rules and find who holds the role: `kubectl get clusterrole NAME -o yaml` and
  `kubectl get clusterrolebindings,rolebindings -A -o wide | grep NAME`.
remediation: >-
  Delete an unauthorised role and its bindings, and review exec sessions by the identities that held it since
  `ts`. Prefer namespaced Roles that grant pods/exec only where a tool needs it, and require review for RBAC
  changes (GitOps, or an admission rule that rejects pods/exec grants outside named namespaces). This Falco
  rule has no allow-list: record a reviewed role with `kanalytics triage set FINDING_ID --verdict benign
  --note ... --by YOU`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created {} {} granting pods/exec', falco_user, resource, falco_object) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource IN ('roles', 'clusterroles') AND verb = 'create' AND list_contains(json_extract_string(request_object, '$.rules[*].resources[*]'), 'pods/exec')
ORDER BY ts, audit_id

/* ---
id: falco-clusterrole-with-wildcard-created
title: Role or cluster role with wildcards created
kind: detection
severity: medium
needs_level: Request
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:ClusterRole With Wildcard Created]
mitre: [T1098]
pattern: [summary]
scope: event
description: >-
  A role or cluster role created with "*" among the resources or the verbs of any rule.
triage: >-
  `resource` says Role or ClusterRole, `object_name` and `namespace` which one, `user_name` who created it
  (fired whether or not the create succeeded). Some operators ship wildcard roles (Argo CD's application
  controller, Crossplane, cluster management agents), installed by the deployer; a wildcard role made by a
  person, in kube-system, or bound right after to an application service account is the case to chase. Read
  the rules with `kubectl get clusterrole NAME -o yaml` and find bindings to it: `kanalytics sql --month
  YYYY-MM "SELECT request_ts, user_name, resource, request_object ->> '$.subjects' AS subjects FROM events
  WHERE resource IN ('rolebindings', 'clusterrolebindings') AND request_object ->> '$.roleRef.name' =
  'NAME'"`.
remediation: >-
  Delete an unauthorised role and the bindings to it, and review what the bound subjects did since `ts`.
  Replace wildcards with the explicit resources and verbs the owner needs (a `*` on resources also covers
  future CRDs and Secrets), and review RBAC changes through GitOps or an admission rule. This Falco rule has
  no allow-list: record a reviewed operator role with `kanalytics triage set FINDING_ID --verdict benign
  --note ... --by YOU`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created {} {} with wildcard rules', falco_user, resource, falco_object) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource IN ('roles', 'clusterroles') AND verb = 'create' AND (list_contains(json_extract_string(request_object, '$.rules[*].resources[*]'), '*')
    OR list_contains(json_extract_string(request_object, '$.rules[*].verbs[*]'), '*'))
ORDER BY ts, audit_id

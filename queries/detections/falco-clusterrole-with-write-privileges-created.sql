/* ---
id: falco-clusterrole-with-write-privileges-created
title: Role or cluster role with write verbs created
kind: detection
severity: low
needs_level: Request
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:ClusterRole With Write Privileges Created]
mitre: [T1098]
pattern: [summary]
scope: event
description: >-
  A role or cluster role created whose rules include create, update, patch, delete or deletecollection.
triage: >-
  Most operator and application charts create roles with write verbs, so this fires on nearly every install:
  look at `user_name` (a person rather than the deployer), `object_name` and which resources the write verbs
  cover. Writes to secrets, pods and workloads, RBAC objects (roles, bindings), webhooks or nodes matter;
  writes to the owner's own CRDs usually do not. Read the rules with `kubectl get clusterrole NAME -o yaml`
  (or `kubectl get role -n NS NAME -o yaml`) and who holds it with `kubectl get
  clusterrolebindings,rolebindings -A -o wide | grep NAME`.
remediation: >-
  Delete an unauthorised role and its bindings; otherwise trim it to the verbs and resources its owner needs.
  Keep RBAC changes in reviewed code (GitOps). This Falco rule has no allow-list: record reviewed roles with
  `kanalytics triage set FINDING_ID --verdict benign --note ... --by YOU`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created {} {} with write verbs', falco_user, resource, falco_object) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource IN ('roles', 'clusterroles') AND verb = 'create' AND list_has_any(json_extract_string(request_object, '$.rules[*].verbs[*]'), ['create', 'update', 'patch', 'delete', 'deletecollection'])
ORDER BY ts, audit_id

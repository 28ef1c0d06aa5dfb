/* ---
id: admin-to-default-sa
title: Default service account granted admin rights
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
references: [guardduty:Policy:Kubernetes/AdminAccessToDefaultServiceAccount, catalog:admin-to-default-sa]
mitre: [T1098.006]
scope: event
description: >-
  A RoleBinding or ClusterRoleBinding gives the 'default' service account of a namespace the cluster-admin,
  admin or edit role. Every pod that does not name a service account runs as 'default', so every such pod,
  including ones created by others later, gets those rights.
triage: >-
  The `summary` names the role (cluster-admin, admin or edit), `object_name` the binding and `namespace` whose
  `default` account now holds it; `user_name` and the `user_agent` evidence say who wrote it and with what.
  This is almost never intended: the usual benign source is a Helm chart or quick fix in a dev namespace,
  applied by the CI deployer, whereas a person with kubectl, a cluster-wide binding or cluster-admin is a true
  positive until shown otherwise. Check the rights and then what the account did with them: `kubectl auth
  can-i --list --as system:serviceaccount:NS:default -n NS` and `kanalytics sql --month YYYY-MM "SELECT
  request_ts, verb, resource, namespace, object_name, response_code FROM events WHERE user_name =
  'system:serviceaccount:NS:default' ORDER BY request_ts"`.
remediation: >-
  Delete the binding (`kubectl delete rolebinding -n NS NAME`, or the clusterrolebinding), then restart the
  pods that run as `default` in that namespace (their projected tokens are bound to the pod and die with it)
  and review every write the account made after `ts`; withdraw the writer's `bind` rights if they were not
  entitled to grant the role. Fix the cause: give each workload its own service account with a least-privilege
  Role, set `automountServiceAccountToken: false` on `default`, and reject bindings whose subject is a
  `default` account with a Kyverno, Gatekeeper or ValidatingAdmissionPolicy rule. A reviewed exception goes
  into `[allowlists.query_lists] admin-to-default-sa` (user, namespace or binding name, with the reason).
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} bound role {} to the default service account in {}', user_name, request_object ->> '$.roleRef.name', coalesce(namespace, 'a cluster-wide binding')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource IN ('rolebindings', 'clusterrolebindings') AND verb IN ('create', 'update', 'patch')
      AND request_object ->> '$.roleRef.name' IN ('cluster-admin', 'admin', 'edit')
      AND list_contains(list_transform(json_extract(request_object, '$.subjects[*]'),
              lambda s: (s ->> '$.kind') = 'ServiceAccount' AND (s ->> '$.name') = 'default'), true)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

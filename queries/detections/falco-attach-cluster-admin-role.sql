/* ---
id: falco-attach-cluster-admin-role
title: ClusterRoleBinding to cluster-admin created
kind: detection
severity: medium
needs_level: Request
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:Attach to cluster-admin Role]
mitre: [T1098]
pattern: [summary]
superseded_by: [privileged-role-binding]
scope: event
description: >-
  A ClusterRoleBinding created whose roleRef is cluster-admin.
triage: >-
  The `subjects` evidence lists who now holds cluster-admin, `object_name` the ClusterRoleBinding and
  `user_name` who created it; like Falco, this fires whether or not the create succeeded. Expected: cluster
  bootstrap, an operator's install-time binding applied by the deployer, or a time-limited break-glass grant
  with a ticket; suspicious: a person or group added outside infrastructure code, an application namespace's
  service account, a `default` account or an anonymous subject. Check the binding and what its subjects can
  do: `kubectl get clusterrolebinding NAME -o yaml` and `kubectl auth can-i --list --as SUBJECT`; `kanalytics
  sql --month YYYY-MM "SELECT response_code FROM events WHERE audit_id = 'AUDIT_ID'"` tells whether it was
  created.
remediation: >-
  Delete the binding, review the subjects' activity since `ts`, and withdraw create on clusterrolebindings
  (and the bind and escalate verbs) from the writer if they were not entitled. Grant scoped Roles through
  namespace RoleBindings, keep cluster-admin to a named break-glass group, and reject other cluster-admin
  bindings at admission. This Falco-parity rule has no allow-list (the default profile runs
  privileged-role-binding instead): record a reviewed binding with `kanalytics triage set FINDING_ID --verdict
  benign --note ... --by YOU`.
spark: >-
  its summary prints the subjects as DuckDB's VARCHAR of a LIST of JSON values (`["a", "b"]`); Spark's
  get_json_object cannot rebuild that text (it unwraps a single match and drops the list spacing)
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} bound {} to cluster-admin via {}', falco_user, coalesce(CAST(json_extract(request_object, '$.subjects[*].name') AS VARCHAR), '?'), falco_object) AS summary,
    cluster,
    CAST(json_extract(request_object, '$.subjects') AS VARCHAR) AS subjects
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'clusterrolebindings' AND verb = 'create' AND request_object->>'$.roleRef.name' = 'cluster-admin'
ORDER BY ts, audit_id

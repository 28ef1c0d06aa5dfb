/* ---
id: falco-system-clusterrole-modified
title: System role or cluster role changed or deleted
kind: detection
severity: medium
needs_level: Metadata
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:System ClusterRole Modified/Deleted]
mitre: [T1098]
pattern: [summary]
scope: event
description: >-
  A create, update, patch or delete of a role or cluster role whose name starts with system:, other than
  system:coredns and system:managed-certificate-controller.
triage: >-
  Look at `user_name` first: unlike system-role-modified this Falco-parity rule does not skip the control
  plane, so `system:apiserver` reconciling the bootstrap roles at start-up or upgrade and
  `system:serviceaccount:kube-system:clusterrole-aggregation-controller` updating aggregated roles are
  expected, as are add-on charts (metrics-server's `system:metrics-server`) updated by the deployer. A person
  or an application account changing `system:discovery`, `system:basic-user`, `system:node` or a
  `system:controller:*` role is not. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name,
  verb, request_object FROM events WHERE resource IN ('roles', 'clusterroles') AND object_name = 'NAME' AND
  stage = 'ResponseComplete' ORDER BY request_ts"` (the body needs the Request level) and `kubectl get
  clusterrole NAME -o yaml`.
remediation: >-
  If unauthorised, restore the role from a clean cluster of the same version with `kubectl auth reconcile
  --remove-extra-permissions -f role.yaml` (the API server re-adds missing rules at restart but keeps added
  ones), check that its `rbac.authorization.kubernetes.io/autoupdate` annotation was not set to false, and
  revoke the actor's credential. Then limit `update`, `patch`, `delete` and `escalate` on roles and cluster
  roles to the control plane and the deployer. The query has no allow-list: record an upgrade or add-on change
  with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} {} {} {}', falco_user, verb, resource, falco_object) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource IN ('roles', 'clusterroles') AND verb IN ('create', 'update', 'patch', 'delete')
  AND starts_with(object_name, 'system:')
  AND object_name NOT IN ('system:coredns', 'system:managed-certificate-controller')
ORDER BY ts, audit_id

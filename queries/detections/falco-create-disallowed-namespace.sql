/* ---
id: falco-create-disallowed-namespace
title: Namespace created outside the allowed namespaces
kind: detection
severity: medium
needs_level: Metadata
area: configuration
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2]
references: [falco:Create Disallowed Namespace]
needs_config: [query_list]
pattern: [summary]
scope: event
suppress_by:
  query_list:
  - object_name
description: >-
  A namespace created whose name is not in Falco's allowed_namespaces (kube-system, kube-public, default) or
  in allowlists.query_lists for this query.
triage: >-
  `object_name` is the new namespace and `user_name` who created it (fired whether or not the create
  succeeded). Most findings are ordinary namespaces not yet on the list (a new team, an operator such as
  cert-manager) created by the deployer or the platform team; suspicious: a name that imitates a system one
  (kube-systen, kube-node), an unexpected creator, or workloads appearing in it right away. See what was
  created in it: `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb, resource,
  coalesce(object_name, request_object ->> '$.metadata.name') AS name FROM events WHERE namespace = 'NAME' AND
  verb = 'create' ORDER BY request_ts"`.
remediation: >-
  For an unauthorised namespace, keep the evidence (`kubectl get all,rolebindings,serviceaccounts -n NAME -o
  yaml`), then `kubectl delete namespace NAME`, which deletes everything in it, and withdraw create on
  namespaces from the creator. An expected namespace goes into `[allowlists.query_lists]
  falco-create-disallowed-namespace = [{ value = "NAME", reason = "..." }]`; `kanalytics tune` proposes the
  namespaces seen in a baseline period.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created namespace {}', falco_user, falco_object) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'namespaces' AND verb = 'create'
  AND (object_name IS NULL OR NOT list_contains(list_concat(['kube-system', 'kube-public', 'default'], allowlist_values($query_id)), object_name))
ORDER BY ts, audit_id

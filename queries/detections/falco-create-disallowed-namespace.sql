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

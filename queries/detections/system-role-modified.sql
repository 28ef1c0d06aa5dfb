/* ---
id: system-role-modified
title: Built-in system role or binding changed or deleted
kind: detection
severity: high
needs_level: Metadata
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
- pci-dss-4.0:10.2.1.7
references: [panther:Kubernetes.SystemRole.Modified, catalog:system-role-modified]
mitre: [T1098.006]
scope: event
description: >-
  A built-in system:* or eks:* Role, ClusterRole or binding was replaced, patched or deleted by someone other
  than the control plane. These objects define what nodes, controllers and authenticated users may do;
  widening one (for example system:discovery or system:basic-user) silently grants rights to everyone.
triage: >-
  Check which object changed (`object_name`, `resource`) and who changed it (`user_name`, `user_agent`): an
  add-on chart updating its own `system:`-named role (metrics-server) through the deployer, or a documented
  provider procedure, is expected; a person or an application account widening `system:discovery`,
  `system:basic-user` or `system:public-info-viewer` (rights for every user), or editing `system:node` or a
  `system:controller:*` binding, is not. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts,
  user_name, verb, request_object FROM events WHERE object_name = 'NAME' AND resource = 'RESOURCE' AND stage =
  'ResponseComplete' ORDER BY request_ts"` shows the change (the body needs the Request level), and `kubectl
  get RESOURCE NAME -o yaml` the current state.
remediation: >-
  If unauthorised, restore the object from a clean cluster of the same version with `kubectl auth reconcile
  --remove-extra-permissions --remove-extra-subjects -f object.yaml` (a deleted bootstrap role comes back at
  the next API server restart, an added rule or subject does not go away by itself), and revoke the actor's
  credential. Limit write access to system roles and bindings to the control plane and break-glass. A reviewed
  change can be added by object name or user to `[allowlists.query_lists] system-role-modified` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} built-in {} {}', user_name, verb_past(verb), resource, object_name) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource IN ('roles', 'clusterroles', 'rolebindings', 'clusterrolebindings')
      AND verb IN ('update', 'patch', 'delete')
      AND (object_name LIKE 'system:%' OR object_name LIKE 'eks:%')
      AND NOT is_platform_identity(user_name)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

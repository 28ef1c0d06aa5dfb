/* ---
id: events-deleted
title: Kubernetes Event objects deleted
kind: detection
severity: medium
needs_level: Metadata
area: configuration
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.3.2
- nist-800-53-r5:AU-9
references: [elastic:Kubernetes Events Deleted, sigma:Kubernetes Events Deleted, catalog:events-deleted]
mitre: [T1070]
scope: event
description: >-
  Kubernetes Event objects (the cluster's own record of scheduling, image pulls, kills and failures) were
  deleted by a principal other than the control plane or a built-in controller (named exactly). Events expire
  on their own after an hour, so deleting them by hand is unusual and typically hides traces of an intrusion
  (indicator removal).
triage: >-
  `user_name`, `namespace` and `object_name` (empty for a deletecollection) say who removed which events.
  Expected: a cleanup script or operator, or an engineer tidying a noisy namespace with `kubectl delete events
  --all` (the events expire within an hour anyway); suspicious: a deletion right after other activity by the
  same identity in that namespace, which is how traces are hidden. Check the identity's activity in the hour
  before `ts`, or whether it belongs to an incident with `kanalytics incidents --month YYYY-MM`: `kanalytics
  sql --month YYYY-MM "SELECT request_ts, verb, resource, namespace, object_name, response_code FROM events
  WHERE user_name = 'USER' AND request_ts BETWEEN TIMESTAMPTZ 'TS' - INTERVAL 1 HOUR AND TIMESTAMPTZ 'TS'
  ORDER BY request_ts"`.
remediation: >-
  The audit archive still holds what happened: rebuild the deleted events' story from it, and when the
  deletion covered tracks, handle the identity as compromised and work through its correlated findings. Grant
  delete and deletecollection on events to no person's role, and export events to durable storage (an event
  exporter) if you depend on them. A cleanup job's identity goes into `[allowlists.query_lists]
  events-deleted`, with the reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} Kubernetes events {} in namespace {}', user_name, verb_past(verb), coalesce(object_name, '(collection)'), coalesce(namespace, '(all)')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'events' AND verb IN ('delete', 'deletecollection')
      -- only the control plane and the built-in controllers (namespace deletion) delete events; any other
      -- kube-system service account may be one an intruder created with a platform-looking name
      AND NOT (is_control_plane(user_name) OR is_controller(user_name))
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

/* ---
id: falco-port-forward
title: Port-forward into a pod
kind: detection
severity: low
needs_level: Metadata
area: exec
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.1, iso-27001-2022:A.8.16]
references: [falco:port-forward]
mitre: [T1572]
superseded_by: [pod-port-forward]
scope: event
description: >-
  Any request on the portforward subresource. Falco has no stage filter here, so each logged stage counts.
triage: >-
  Falco parity: every logged stage of a pods/portforward request is a row, refused requests included, so first
  group the rows by `audit_id` and see whether the request was accepted (pod-port-forward, the native rule,
  reports each accepted session once). Then judge `user_name` and `source_ip`: an engineer reaching a staging
  database or a dashboard from the VPN range is routine; a service account, an unknown address or a pod in a
  payments or database `namespace` is not. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts,
  stage, response_code, request_uri, user_agent FROM events WHERE audit_id = 'AUDIT_ID' ORDER BY stage_ts"`
  shows the forwarded ports (`ports=` in request_uri) and the outcome.
remediation: >-
  If unauthorised, stop the client (the tunnel lives as long as its kubectl process), rotate the credentials
  of whatever listened on the forwarded port, and take `create` (and `get`, which WebSocket clients use) on
  `pods/portforward` away from the identity (`kubectl auth can-i create pods/portforward -n NS --as USER`).
  Keep port-forward rights in a dedicated Role for a small on-call group. This rule runs under the falco
  profile only; tune pod-port-forward for the default profile, and record a reviewed session with `kanalytics
  triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} port-forwarded to pod {} in {} ({})', falco_user, falco_object, falco_namespace, stage) AS summary,
    cluster,
    stage
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND subresource = 'portforward'
ORDER BY ts, audit_id

/* ---
id: falco-attach-exec-pod
title: Exec or attach into a pod
kind: detection
severity: low
needs_level: Metadata
area: exec
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.1, iso-27001-2022:A.8.16]
references: [falco:Attach/Exec Pod]
mitre: [T1609]
superseded_by: [pod-exec, exec-kube-system-pod]
scope: event
description: >-
  An exec or attach into a pod (verb create or get on pods/exec or pods/attach), counted at stage
  ResponseStarted as Falco does: a log that drops ResponseStarted never shows it here.
triage: >-
  `user_name`, `namespace` and `object_name` say who opened a session into which pod; the `subresource`
  evidence says exec or attach and `request_uri` carries the exec command (`command=` parameters). Routine for
  engineers in development namespaces; in production, kube-system or from an unfamiliar `source_ip` it is a
  session to account for, and commands touching tokens, curl or shells deserve a closer look. List the
  identity's sessions: `kanalytics sql --month YYYY-MM "SELECT DISTINCT request_ts, namespace, object_name,
  subresource, request_uri FROM events WHERE user_name = 'USER' AND subresource IN ('exec', 'attach') ORDER BY
  request_ts"`.
remediation: >-
  If the session was not authorised, revoke the user's credentials and restart the pod (its token and mounted
  Secrets were within reach, so rotate the Secrets too). Grant create on pods/exec and pods/attach only where
  people need it, and not in production by default. This Falco-parity rule has no allow-list (the default
  profile runs pod-exec and exec-kube-system-pod instead): record reviewed sessions with `kanalytics triage
  set FINDING_ID --verdict benign --note ... --by YOU`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} ran {} into pod {} in {}', falco_user, subresource, falco_object, falco_namespace) AS summary,
    cluster,
    subresource,
    request_uri
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseStarted' AND resource = 'pods' AND subresource IN ('exec', 'attach') AND verb IN ('create', 'get')
ORDER BY ts, audit_id

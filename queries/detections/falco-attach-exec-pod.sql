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

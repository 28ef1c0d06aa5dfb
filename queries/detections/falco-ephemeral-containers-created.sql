/* ---
id: falco-ephemeral-containers-created
title: Ephemeral container added to a pod (kubectl debug)
kind: detection
severity: low
needs_level: Metadata
area: exec
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.1, iso-27001-2022:A.8.16]
references: [falco:EphemeralContainers Created]
mitre: [T1609]
superseded_by: [ephemeral-container]
scope: event
description: >-
  A create, update or patch on the pods/ephemeralcontainers subresource: someone attached a debug container to
  a running pod.
triage: >-
  `namespace` and `object_name` name the target pod and `user_name` who added the debug container; the
  `container_name` and `container_image` evidence follow Falco's output path, which current clusters leave
  empty (the body is a Pod), so read the image from the pod: `kubectl get pod -n NS NAME -o
  jsonpath='{.spec.ephemeralContainers[*].image}'`. An engineer debugging their own team's pod during an
  incident is the usual case; a debug container in kube-system or on a pod holding sensitive credentials, by
  an identity that never debugs, is not.
remediation: >-
  If not authorised, delete the pod (ephemeral containers cannot be removed) so it is recreated clean, and
  rotate the Secrets mounted in it. Grant update and patch on pods/ephemeralcontainers only to the on-call
  group. This Falco rule has no allow-list (the default profile runs ephemeral-container instead): record
  reviewed sessions with `kanalytics triage set FINDING_ID --verdict benign --note ... --by YOU`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} added an ephemeral container to pod {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster,
    request_object->>'$.ephemeralContainers[0].name' AS container_name,
    request_object->>'$.ephemeralContainers[0].image' AS container_image
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'pods' AND subresource = 'ephemeralcontainers' AND verb IN ('create', 'update', 'patch')
ORDER BY ts, audit_id

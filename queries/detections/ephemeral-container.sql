/* ---
id: ephemeral-container
title: Ephemeral debug container added to a running pod
kind: detection
severity: medium
needs_level: Metadata
area: exec
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16, hipaa:164.312(b)]
references: [elastic:Kubernetes Ephemeral Container Added to Pod, catalog:ephemeral-container]
mitre: [T1611, T1609]
scope: event
description: >-
  An ephemeral container was added to a running pod (kubectl debug). It runs with the pod's identity and
  volumes, can target another container's process namespace and is not in the workload's manifest, so it
  bypasses image and deployment review.
triage: >-
  `namespace` and `object_name` are the target pod, `user_name` and `user_agent` (kubectl debug) who added the
  container. Expected: an engineer debugging a distroless pod of their own team during an incident;
  suspicious: a target holding valuable credentials (kube-system, payment, identity services), an identity
  that never debugs, or a service account doing it. The image and target container are in the pod (`kubectl
  get pod -n NS NAME -o jsonpath='{.spec.ephemeralContainers}'`); what was done inside shows as attach and
  exec: `kanalytics sql --month YYYY-MM "SELECT DISTINCT request_ts, user_name, subresource, request_uri FROM
  events WHERE namespace = 'NS' AND object_name = 'NAME' AND subresource IN ('ephemeralcontainers', 'attach',
  'exec') ORDER BY request_ts"`.
remediation: >-
  Ephemeral containers cannot be removed: delete the pod so its controller recreates it clean (the service
  account token dies with it) and rotate the Secrets mounted in it when the session was not authorised. Grant
  update and patch on pods/ephemeralcontainers only to the on-call group; Pod Security admission judges
  ephemeral containers too, so enforce baseline or restricted in sensitive namespaces. A development namespace
  where debugging is routine goes into `[allowlists.query_lists] ephemeral-container`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} added an ephemeral (debug) container to pod {}/{}', user_name, namespace, object_name) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'pods' AND subresource = 'ephemeralcontainers' AND verb IN ('update', 'patch')
      AND NOT is_platform_identity(user_name)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

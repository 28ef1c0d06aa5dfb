/* ---
id: falco-create-hostpid-pod
title: Pod created in the host PID namespace
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Create HostPid Pod]
mitre: [T1611]
pattern: [namespace, repositories]
superseded_by: [hostpid-pod]
scope: event
suppress_by:
  query_list:
  - repositories
description: >-
  A pod created with spec.hostPID true, unless every image is in Falco's k8s_audit_hostpid_images list (empty
  by default).
triage: >-
  A hostPID pod sees every process on its node and, when also privileged, can enter them with nsenter.
  Expected: node exporters and security or tracing agents (`repositories` evidence, a DaemonSet controller as
  `user_name`) and `kubectl debug node/...` pods (`node-debugger-*`) by on-call engineers; suspicious: an
  application image or a pod created by someone outside operations. Refused creates count too, so confirm it
  ran: `kanalytics sql --month YYYY-MM "SELECT response_code, response_reason FROM events WHERE audit_id =
  'AUDIT_ID'"`.
remediation: >-
  Delete an unapproved pod, and if it also ran privileged, cordon and drain its node and inspect or rebuild
  it. Enforce Pod Security baseline (no host namespaces) on application namespaces. Approved agent images go
  into `[allowlists.query_lists] falco-create-hostpid-pod` by repository; under the default profile
  hostpid-pod replaces this rule.
--- */
WITH lists AS (
    SELECT
        []::VARCHAR[] AS builtin_images,
        allowlist_values($query_id) AS user_images
),
candidates AS (
    SELECT * FROM falco_pod_creates
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND request_object->>'$.spec.hostPID' = 'true'
)
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created pod {} in {} with hostPID ({})', falco_user, falco_object, falco_namespace, array_to_string(images, ', ')) AS summary,
    cluster,
    images,
    repositories
FROM candidates, lists
-- Falco: `not ka.req.pod.containers.image.repository in (list)`: quiet only when EVERY container is trusted.
WHERE NOT (len(repositories) > 0 AND list_has_all(list_concat(lists.builtin_images, lists.user_images), repositories))
ORDER BY ts, audit_id

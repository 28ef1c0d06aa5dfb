/* ---
id: falco-create-hostipc-pod
title: Pod created in the host IPC namespace
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Create HostIPC Pod]
mitre: [T1611]
pattern: [namespace, repositories]
superseded_by: [hostipc-pod]
scope: event
suppress_by:
  query_list:
  - repositories
description: >-
  A pod created with spec.hostIPC true, unless every image is in Falco's k8s_audit_hostipc_images list (empty
  by default).
triage: >-
  hostIPC shares the node's shared memory and semaphores with the pod; the `images` and `repositories`
  evidence show what runs, `namespace` and `object_name` where, `user_name` who created it (often a
  controller: look at the owning workload). Few workloads need it: some MPI, GPU or legacy shared-memory
  agents; anything else is a misconfiguration or an attempt to read host processes' IPC. Like Falco this
  counts refused creates too, so confirm it was admitted: `kanalytics sql --month YYYY-MM "SELECT
  response_code, response_reason FROM events WHERE audit_id = 'AUDIT_ID'"`.
remediation: >-
  Remove `hostIPC: true` from the owning workload and delete the pod if it was not approved; enforce Pod
  Security baseline, which forbids host namespaces, on application namespaces. An approved image goes into
  `[allowlists.query_lists] falco-create-hostipc-pod` by repository (every container's repository must be
  listed); under the default profile hostipc-pod replaces this rule.
--- */
WITH lists AS (
    SELECT
        []::VARCHAR[] AS builtin_images,
        allowlist_values($query_id) AS user_images
),
candidates AS (
    SELECT * FROM falco_pod_creates
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND request_object->>'$.spec.hostIPC' = 'true'
)
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created pod {} in {} with hostIPC ({})', falco_user, falco_object, falco_namespace, array_to_string(images, ', ')) AS summary,
    cluster,
    images,
    repositories
FROM candidates, lists
-- Falco: `not ka.req.pod.containers.image.repository in (list)`: quiet only when EVERY container is trusted.
WHERE NOT (len(repositories) > 0 AND list_has_all(list_concat(lists.builtin_images, lists.user_images), repositories))
ORDER BY ts, audit_id

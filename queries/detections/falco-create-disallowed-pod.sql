/* ---
id: falco-create-disallowed-pod
title: Pod created with an image outside the allowed images
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Create Disallowed Pod]
mitre: [T1610]
tags: [inert-without-list]
needs_config: [query_list]
pattern: [namespace, repositories]
scope: event
suppress_by:
  query_list:
  - repositories
description: >-
  A pod created with a container image repository outside allowlists.query_lists for this query. Falco ships
  this rule inert (allowed_k8s_containers is always true); here it waits for configuration (needs_config; also
  under the "falco" profile: tag inert-without-list) while that list is empty and enforces it once filled.
triage: >-
  The `repositories` evidence lists the image repositories of the pod (every one must be on the list for it to
  stay quiet), `namespace` and `object_name` the pod. Pods made by controllers count too, so `user_name` is
  often a ReplicaSet or DaemonSet controller: then the owning workload is what to look at. Most findings are
  new legitimate images (a chart moved registries, a new sidecar); suspicious: personal or public
  repositories, or a pod created directly by a person. Confirm it was admitted and where else the image runs:
  `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, namespace, response_code FROM events WHERE
  resource = 'pods' AND verb = 'create' AND request_object LIKE '%REPOSITORY%'"`.
remediation: >-
  Delete an unauthorised pod and the workload that owns it, and find out how the image got in (who wrote the
  workload, from which pipeline). Enforce approved registries at admission (Kyverno, Gatekeeper or
  ValidatingAdmissionPolicy) so this list and the cluster agree. An approved repository (without tag or
  digest) goes into `[allowlists.query_lists] falco-create-disallowed-pod`; `kanalytics tune` proposes the
  repositories seen in a baseline period.
--- */
WITH lists AS (
    SELECT
        []::VARCHAR[] AS builtin_images,
        allowlist_values($query_id) AS user_images
),
candidates AS (
    SELECT * FROM falco_pod_creates
    WHERE request_ts >= $period_start AND request_ts < $period_end
)
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created pod {} in {} with images outside the allowed list: {}', falco_user, falco_object, falco_namespace, array_to_string(images, ', ')) AS summary,
    cluster,
    images,
    repositories
FROM candidates, lists
-- Falco ships the allowed-images list always true (inert); here an empty list waits for configuration
-- (needs_config) and the raw rows are every pod outside the list as configured.
WHERE NOT (len(repositories) > 0 AND list_has_all(lists.user_images, repositories))
ORDER BY ts, audit_id

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
needs_config: [query_list]
pattern: [namespace, repositories]
description: >-
  A pod created with a container image repository outside allowlists.query_lists for this query. Falco ships
  this rule inert (allowed_k8s_containers is always true); here it is inert while that list is empty and
  enforces it once filled.
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
-- An empty allowed-images list means Falco's default: every image is allowed, the rule stays inert.
WHERE len(lists.user_images) > 0
  AND NOT (len(repositories) > 0 AND list_has_all(lists.user_images, repositories))
ORDER BY ts, audit_id

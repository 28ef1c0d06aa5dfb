/* ---
id: suspicious-image-pull
title: Workload created with an image from an untrusted registry
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC6.1, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [splunk:Kubernetes Suspicious Image Pulling, catalog:suspicious-image-pull]
mitre: [T1610, T1204.003]
needs_config: [trusted_registries]
pattern: [namespace, images]
description: >-
  A pod, or a workload whose pod template, is created or changed with a container image (containers,
  initContainers or ephemeralContainers) whose registry is not in allow_trusted_registries (`[allowlists]
  trusted_registries` in kanalytics.toml). An entry is a prefix of the image reference, e.g.
  "registry.example.com/" or "docker.io/library/"; short Docker Hub names are compared in their full form
  ("nginx" is "docker.io/library/nginx"). The query is SILENT WHEN THE LIST IS EMPTY: without a list of
  trusted registries every image would be a finding. Pods made by the built-in controllers and kubelet mirror
  pods are skipped (the workload that made them is reported). One finding per request, listing the untrusted
  images. Per-query exceptions (user or namespace) come from allow_query_list.
--- */
WITH w AS (
    SELECT * FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND EXISTS (SELECT 1 FROM allow_trusted_registries)
),
images AS (
    SELECT w.cluster, w.audit_id, img AS image, image_full_name(img) AS full_image
    FROM w,
        unnest(list_concat(
            coalesce(json_extract_string(w.podspec, '$.containers[*].image'), []),
            coalesce(json_extract_string(w.podspec, '$.initContainers[*].image'), []),
            coalesce(json_extract_string(w.podspec, '$.ephemeralContainers[*].image'), [])
        )) AS t(img)
    WHERE img IS NOT NULL
),
untrusted AS (
    SELECT cluster, audit_id, list_sort(list_distinct(list(image))) AS images
    FROM images i
    WHERE NOT EXISTS (SELECT 1 FROM allow_trusted_registries r
                      WHERE starts_with(i.image, r.value) OR starts_with(i.full_image, r.value))
    GROUP BY cluster, audit_id
)
SELECT
    w.request_ts AS ts, w.cluster, w.audit_id, w.user_name, client_ip(w.source_ips) AS source_ip, w.verb, w.resource, w.namespace,
    w.object_ref AS object_name,
    format('{} {} {} {}/{} with image(s) from a registry that is not trusted: {}', w.user_name,
           w.verb_past,
           w.object_kind, coalesce(w.namespace, '-'),
           coalesce(w.object_ref, '?'),
           array_to_string(u.images, ', ')) AS summary,
    u.images, w.user_agent
FROM w JOIN untrusted u USING (cluster, audit_id)
WHERE NOT allowlisted($query_id, [w.user_name, w.namespace])
ORDER BY ts

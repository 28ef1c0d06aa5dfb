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
tags: [inert-without-list]
needs_config: [trusted_registries]
pattern: [namespace, image]
scope: event
suppress_by:
  trusted_registries:
  - image
  - image_full_name
description: >-
  A pod, or a workload whose pod template, is created or changed with a container image (containers,
  initContainers or ephemeralContainers) whose registry is not in allow_trusted_registries (`[allowlists]
  trusted_registries` in kanalytics.toml). An entry is a prefix of the image reference, e.g.
  "registry.example.com/" or "docker.io/library/"; short Docker Hub names are compared in their full form
  ("nginx" is "docker.io/library/nginx"). Until the list has an entry the query waits for configuration
  (needs_config): without a list of trusted registries every image would be a finding. Pods made by the
  built-in controllers and kubelet mirror pods are skipped (the workload that made them is reported). One
  finding per request and untrusted image (the image and its full name are in the evidence). Per-query
  exceptions (user or namespace) come from allow_query_list.
triage: >-
  Read `image` and `image_full_name` (evidence): a well-known vendor registry (registry.k8s.io, quay.io,
  ghcr.io of a vendor) in a newly installed chart usually means the trusted list is incomplete; a public
  Docker Hub image in a production namespace, a look-alike of your registry's name, or a miner or offensive
  tool image is not. Check `user_name` too: the deployer following a reviewed change, or a person with kubectl
  (`user_agent`). Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb, resource,
  namespace, object_name FROM events WHERE stage = 'ResponseComplete' AND request_object LIKE '%IMAGE%' ORDER
  BY request_ts"` shows where else the image was used.
remediation: >-
  If unwanted, delete the workload, check the image (its origin, a scan, what its containers did and reached),
  and revoke the credential used if the change was not the deployer's. Enforce registries at admission
  (Kyverno `verifyImages` or a restrict-registries policy, Gatekeeper allowed repositories) and mirror
  third-party images into your own registry. A registry that is trusted goes into
  `[[allowlists.trusted_registries]]` as a prefix; a reviewed exception by user or namespace into
  `[allowlists.query_lists] suspicious-image-pull`.
--- */
WITH w AS (
    SELECT *,
        list_sort(list_distinct(list_filter(list_concat(
            coalesce(json_extract_string(podspec, '$.containers[*].image'), []),
            coalesce(json_extract_string(podspec, '$.initContainers[*].image'), []),
            coalesce(json_extract_string(podspec, '$.ephemeralContainers[*].image'), [])
        ), lambda i: i IS NOT NULL))) AS all_images
    FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
),
per_image AS (  -- one row per request and image; the trusted prefixes are matched on image and full name
    SELECT w.*, i.image, image_full_name(i.image) AS image_full_name
    FROM w, unnest(w.all_images) AS i(image)
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} {}/{} with image {} from a registry that is not trusted', user_name, verb_past,
           object_kind, coalesce(namespace, '-'), coalesce(object_ref, '?'), image) AS summary,
    image, image_full_name, user_agent
FROM per_image u
WHERE NOT EXISTS (SELECT 1 FROM allow_trusted_registries r
                  WHERE starts_with(u.image, r.value) OR starts_with(u.image_full_name, r.value))
  AND NOT allowlisted($query_id, [u.user_name, u.namespace])
ORDER BY ts, audit_id, image

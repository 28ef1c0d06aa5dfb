/* ---
id: trusted_registries
list: trusted_registries
needs_level: Request
context: images
description: >-
  The registries of the images in the workloads suspicious-image-pull reads (the workload_specs view:
  containers, initContainers and ephemeralContainers), as the prefix an entry is: "registry.example.com/". On
  registries that host many organisations (Docker Hub, GHCR, Quay, GCR, public ECR, GitLab) the entry is the
  organisation ("docker.io/library/", "ghcr.io/acme/"): trusting all of Docker Hub trusts everyone.
--- */
WITH images AS (
    SELECT w.cluster, w.request_ts, img AS image, image_full_name(img) AS full_image
    FROM workload_specs w,
        unnest(list_concat(
            coalesce(json_extract_string(w.podspec, '$.containers[*].image'), []),
            coalesce(json_extract_string(w.podspec, '$.initContainers[*].image'), []),
            coalesce(json_extract_string(w.podspec, '$.ephemeralContainers[*].image'), [])
        )) AS t(img)
    WHERE w.request_ts >= $period_start AND w.request_ts < $period_end
      AND img IS NOT NULL AND img <> ''
),
registries AS (
    SELECT *,
        CASE
            WHEN split_part(full_image, '/', 1) IN ('docker.io', 'ghcr.io', 'quay.io', 'gcr.io', 'public.ecr.aws',
                                                    'registry.gitlab.com')
                 AND len(string_split(full_image, '/')) > 2
            THEN split_part(full_image, '/', 1) || '/' || split_part(full_image, '/', 2) || '/'
            ELSE split_part(full_image, '/', 1) || '/'
        END AS registry
    FROM images
)
SELECT
    cluster,
    registry AS value,
    list_sort(list(DISTINCT timezone($timezone, request_ts)::DATE)) AS dates,
    count(*) AS events,
    list_sort(list(DISTINCT image)) AS context
FROM registries
GROUP BY cluster, registry

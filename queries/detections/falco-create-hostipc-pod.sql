/* ---
id: falco-create-hostipc-pod
title: Pod created in the host IPC namespace
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls:
- pci-dss-4.0:10.2.1.7
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
references:
- falco:Create HostIPC Pod
mitre:
- T1611
description: A pod created with spec.hostIPC true, unless every image is in Falco's k8s_audit_hostipc_images list
  (empty by default).
--- */
WITH lists AS (
    SELECT
        []::VARCHAR[] AS builtin_images,
        coalesce((SELECT list(value) FROM allow_query_list WHERE query_id = 'falco-create-hostipc-pod'), []::VARCHAR[]) AS user_images
),
candidates AS (
    SELECT
        *,
        coalesce(json_extract_string(request_object, '$.spec.containers[*].image'), []::VARCHAR[]) AS images,
        -- Falco's image.repository: the image up to the first ':' and then the first '@'.
        list_transform(images, lambda i: split_part(split_part(i, ':', 1), '@', 1)) AS repositories
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage = 'ResponseComplete' AND resource = 'pods' AND subresource IS NULL AND verb = 'create' AND request_object->>'$.spec.hostIPC' = 'true'
)
SELECT
    request_ts AS ts,
    audit_id,
    user_name,
    source_ips[1] AS source_ip,
    verb,
    resource,
    namespace,
    object_name,
    format('{} created pod {} in {} with hostIPC ({})', coalesce(user_name, '(no user)'), coalesce(object_name, request_object->>'$.metadata.name', request_object->>'$.metadata.generateName', '(unnamed)'), coalesce(namespace, '(cluster)'), array_to_string(images, ', ')) AS summary,
    cluster,
    images,
    repositories
FROM candidates, lists
-- Falco: `not ka.req.pod.containers.image.repository in (list)`: quiet only when EVERY container is trusted.
WHERE NOT (len(repositories) > 0 AND list_has_all(list_concat(lists.builtin_images, lists.user_images), repositories))
ORDER BY ts, audit_id

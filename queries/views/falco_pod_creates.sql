/* ---
id: falco_pod_creates
depends_on: [falco_events]
description: >-
  Pod creates as Falco's pod rules see them (ResponseComplete, no subresource, any response code), with the
  containers' `images` and their `repositories` (Falco's ka.req.pod.containers.image.repository: the image up
  to the first ':' and then the first '@'). The rules' trusted-image lists stay in each query.
--- */
SELECT *,
    coalesce(json_extract_string(request_object, '$.spec.containers[*].image'), []::VARCHAR[]) AS images,
    list_transform(images, lambda i: split_part(split_part(i, ':', 1), '@', 1)) AS repositories
FROM falco_events
WHERE stage = 'ResponseComplete' AND resource = 'pods' AND subresource IS NULL AND verb = 'create'

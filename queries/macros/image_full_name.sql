/* ---
id: image_full_name
parameters: [image]
description: >-
  A container image reference in its full form, registry first, as the container runtime resolves it: a
  reference without a registry is on Docker Hub ("nginx" is "docker.io/library/nginx", "bitnami/redis" is
  "docker.io/bitnami/redis"); the first path segment is a registry when it holds a "." or ":" or is
  "localhost". What trusted-registry prefixes are compared with (besides the reference as written).
--- */
CASE
    WHEN NOT contains(image, '/') THEN 'docker.io/library/' || image
    WHEN regexp_matches(split_part(image, '/', 1), '[.:]') OR split_part(image, '/', 1) = 'localhost' THEN image
    ELSE 'docker.io/' || image
END

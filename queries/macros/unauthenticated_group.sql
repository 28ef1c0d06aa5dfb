/* ---
id: unauthenticated_group
description: >-
  The group the API server puts unauthenticated requests in (system:unauthenticated).
--- */
'system:unauthenticated'

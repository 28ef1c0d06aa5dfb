/* ---
id: anonymous_user
description: >-
  The user name the API server gives unauthenticated requests (system:anonymous).
--- */
'system:anonymous'

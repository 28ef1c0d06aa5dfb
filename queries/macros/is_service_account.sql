/* ---
id: is_service_account
parameters: [user_name]
description: >-
  A service account token, in any namespace (system:serviceaccount:<namespace>:<name>).
--- */
user_name LIKE 'system:serviceaccount:%'

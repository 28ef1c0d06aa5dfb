/* ---
id: is_system_service_account
parameters: [user_name]
description: >-
  A service account of kube-system: the controllers' own accounts and the add-ons installed there.
--- */
user_name LIKE 'system:serviceaccount:kube-system:%'

/* ---
id: is_controller_service_account
parameters: [user_name]
description: >-
  A service account, in any namespace, whose name says it is a controller (cert-manager-controller,
  kube-controller-manager ...): operators that write workloads as part of their job.
--- */
regexp_full_match(user_name, 'system:serviceaccount:[a-z0-9-]+:[a-z-]*controller[a-z-]*')

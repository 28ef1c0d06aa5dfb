/* ---
id: is_controller
parameters: [user_name]
description: >-
  A built-in controller that writes pods and workloads on behalf of others: the kube-controller-manager
  itself, or one of its kube-system *-controller service accounts (replicaset-controller, job-controller ...).
--- */
user_name = 'system:kube-controller-manager'
    OR regexp_full_match(user_name, 'system:serviceaccount:kube-system:[a-z-]+-controller')

/* ---
id: is_kube_component
parameters: [user_name]
description: >-
  A Kubernetes component with its own system:kube-* identity (kube-controller-manager, kube-scheduler,
  kube-proxy).
--- */
user_name LIKE 'system:kube-%'

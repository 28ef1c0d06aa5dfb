/* ---
id: is_control_plane
parameters: [user_name]
description: >-
  A control-plane component: the Kubernetes components (is_kube_component), the API server itself, the addon
  manager and the volume scheduler, and the managed control planes' own users (EKS eks:*, AKS aksService*).
--- */
is_kube_component(user_name)
    OR user_name IN ('system:apiserver', 'system:addon-manager', 'system:volume-scheduler')
    OR user_name LIKE 'eks:%'
    OR user_name LIKE 'aksService%'

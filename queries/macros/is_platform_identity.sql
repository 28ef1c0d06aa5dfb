/* ---
id: is_platform_identity
parameters: [user_name]
description: >-
  The cluster's own machinery, whose routine requests detections leave out: kubelets (is_node), the control
  plane (is_control_plane) and the service accounts of kube-system (is_system_service_account). Null for a
  null user_name, so that `NOT is_platform_identity(user_name)` also leaves out requests without a user.
--- */
is_node(user_name) OR is_control_plane(user_name) OR is_system_service_account(user_name)

/* ---
id: identity_type
parameters: [user_name, user_groups]
returns: [human, service account, node, control plane, anonymous, unknown]
description: >-
  What kind of identity made a request, one of `returns` (also kanalytics.vocabulary.IDENTITY_TYPES): unknown
  (no user), anonymous, node, service account, control plane (any other system:* user, or is_control_plane),
  and human for everyone else.
--- */
CASE
    WHEN user_name IS NULL THEN 'unknown'
    WHEN is_anonymous(user_name, user_groups) THEN 'anonymous'
    WHEN is_node(user_name) THEN 'node'
    WHEN is_service_account(user_name) THEN 'service account'
    WHEN is_system_user(user_name) OR is_control_plane(user_name) THEN 'control plane'
    ELSE 'human'
END

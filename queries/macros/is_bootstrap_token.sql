/* ---
id: is_bootstrap_token
parameters: [user_name, user_groups]
description: >-
  A bootstrap token (system:bootstrap:<token id>, group system:bootstrappers), as a joining node uses to
  request its client certificate.
--- */
user_name LIKE 'system:bootstrap:%' OR list_contains(coalesce(user_groups, []), 'system:bootstrappers')

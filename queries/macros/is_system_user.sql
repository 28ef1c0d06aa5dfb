/* ---
id: is_system_user
parameters: [user_name]
description: >-
  Any system:* identity (nodes, service accounts, components, anonymous): Falco's `non_system_user` macro is
  its negation.
--- */
starts_with(user_name, 'system:')

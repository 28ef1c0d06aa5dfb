/* ---
id: is_anonymous
parameters: [user_name, user_groups]
description: >-
  An unauthenticated request: the user system:anonymous or the group system:unauthenticated.
--- */
user_name = anonymous_user() OR list_contains(coalesce(user_groups, []), unauthenticated_group())

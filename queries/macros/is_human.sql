/* ---
id: is_human
parameters: [user_name, user_groups]
description: >-
  A person (or a person's credential): identity_type is human. False for requests without a user.
--- */
identity_type(user_name, user_groups) = 'human'

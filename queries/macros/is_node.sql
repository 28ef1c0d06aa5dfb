/* ---
id: is_node
parameters: [user_name]
description: >-
  A kubelet: the node identities system:node:<node name> that the Node authorizer recognises.
--- */
user_name LIKE 'system:node:%'

/* ---
id: masters_group
description: >-
  The group the API server's authorizer lets do anything, bypassing RBAC (system:masters): a client
  certificate with O=system:masters is cluster-admin that no RoleBinding grants and none can revoke.
--- */
'system:masters'

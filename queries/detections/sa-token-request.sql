/* ---
id: sa-token-request
title: Service-account token minted through the TokenRequest API
kind: detection
severity: medium
needs_level: Metadata
area: rbac
controls:
- pci-dss-4.0:10.2.1.5
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.2
- soc2:CC6.3
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
references:
- elastic:Kubernetes Service Account Token Created via TokenRequest API
- panther:Kubernetes.ServiceAccount.TokenCreated
- catalog:sa-token-request
mitre: [T1552.007, T1528]
pattern: [namespace, object_name]
scope: event
description: >-
  A token for a service account was created through serviceaccounts/token (kubectl create token) by someone
  other than the kubelet or the control plane, which mint projected tokens for pods all the time. A
  hand-minted token is a bearer credential that works from anywhere until it expires and is not tied to a pod.
  CI systems that mint tokens by design can be listed in allow_automation_users.
triage: >-
  Read `user_name` (who minted), `namespace` and `object_name` (for which account) and the `user_agent`
  evidence: Vault's Kubernetes secrets engine, a CI system or a multi-cluster deployer minting tokens for its
  own account is expected; a person's kubectl minting a token for a powerful account (kube-system, the GitOps
  controller, anything bound to cluster-admin) is the way to take a credential out of the cluster. Follow-up:
  `kanalytics sql --month YYYY-MM "SELECT source_ips[-1] AS client_ip, user_agent, count(*) AS n,
  min(request_ts) FROM events WHERE user_name = 'system:serviceaccount:NS:NAME' AND request_ts >= TIMESTAMPTZ
  'TS' AND stage = 'ResponseComplete' GROUP BY ALL ORDER BY n DESC"` shows where the account was used from
  afterwards.
remediation: >-
  A minted token cannot be revoked on its own and is valid until it expires: to end it now, delete and
  recreate the ServiceAccount (tokens are bound to its UID) and restart the pods that use it; then revoke the
  minter's credential if it was stolen. Limit `create` on `serviceaccounts/token` to the few automation
  accounts that need it, and cap lifetimes with the API server's `--service-account-max-token-expiration`. For
  such an account, add it to `[[allowlists.automation_users]]` or `[allowlists.query_lists] sa-token-request`
  with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} minted a token for service account {}/{}', user_name, namespace, object_name) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'serviceaccounts' AND subresource = 'token' AND verb = 'create'
      AND NOT is_platform_identity(user_name)
  AND user_name NOT IN (SELECT value FROM allow_automation_users)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

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

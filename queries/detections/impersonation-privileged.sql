/* ---
id: impersonation-privileged
title: Request impersonating a privileged identity
kind: detection
severity: high
needs_level: Metadata
area: rbac
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.2.1.5
- soc2:CC6.1
references:
- elastic:Kubernetes API Request Impersonating Privileged Identity
- catalog:impersonation-privileged
mitre: [T1134]
scope: event
description: >-
  An allowed request made while impersonating a privileged identity: the system:masters or cluster-admin
  group, system:admin, control-plane components, a node, a kube-system service account or system:anonymous.
  Impersonation hides the real actor behind the target identity in every later record of the request.
triage: >-
  `user_name` is the real actor; `impersonated_user` and `impersonated_groups` (evidence) are the identity it
  borrowed. Authentication proxies (Teleport, Rancher, Pinniped, kube-oidc-proxy) impersonate their logged-in
  users, so there the question is whether that person should act as system:masters; an administrator checking
  a service account's rights with `kubectl --as` makes reads, while writes (`verb`, `object_name`) as a node,
  a kube-system account or system:masters are not a test. Follow-up: `kanalytics sql --month YYYY-MM "SELECT
  request_ts, impersonated_user, verb, resource, namespace, object_name, response_code FROM events WHERE
  user_name = 'USER' AND impersonated_user IS NOT NULL AND stage = 'ResponseComplete' ORDER BY request_ts"`
  and `kubectl auth can-i --list --as USER` (look for impersonate).
remediation: >-
  If unauthorised, remove the `impersonate` grant from the actor's roles (it is worth every identity it may
  impersonate), revert what was done under the borrowed identity, and revoke the actor's credential if it was
  stolen. Where a proxy needs impersonation, restrict it with `resourceNames` to the users and groups it must
  assume, and give administrators a break-glass account instead of `--as-group=system:masters`. For a reviewed
  proxy or admin, add the real actor to `[allowlists.query_lists] impersonation-privileged` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} acted as {} ({} {} {})', user_name, impersonated_user, verb, coalesce(resource, request_uri), coalesce(object_name, '')) AS summary,
    user_agent, response_code,
    impersonated_user, impersonated_groups
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND impersonated_user IS NOT NULL
      AND (impersonated_user IN ('system:admin', 'admin', 'cluster-admin')
           OR impersonated_user = anonymous_user()
           OR is_kube_component(impersonated_user)
           OR is_node(impersonated_user)
           OR is_system_service_account(impersonated_user)
           OR list_has_any(coalesce(impersonated_groups, []), ['system:masters', 'cluster-admin', 'system:nodes']))
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

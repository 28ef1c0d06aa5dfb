/* ---
id: falco-disallowed-k8s-user
title: Request by a user outside Falco's allowed users
kind: detection
severity: medium
needs_level: Metadata
area: activity
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.1, iso-27001-2022:A.8.16]
references: [falco:Disallowed K8s User]
mitre: [T1078]
needs_config: [query_list]
scope: event
suppress_by:
  query_list:
  - user_name
description: >-
  A completed request by a user that is not a system: identity and is in neither of Falco's allowed-user lists
  (allowed_k8s_users, eks_allowed_k8s_users); extend the list per cluster with allowlists.query_lists. Most
  real clusters need that list: every human and CI identity fires this rule.
triage: >-
  Every human, CI and cloud-mapped identity fires this until it is listed, so most findings are people you
  know: compare `user_name` with your identity provider and CI inventory, and `source_ip` with your office,
  VPN and runner ranges. The signal is an identity nobody owns, a cloud-mapped role you do not recognise, or a
  known user from an unexpected address. The month's inventory to review (and to build the list from):
  `kanalytics sql --month YYYY-MM "SELECT user_name, count(*) AS requests, list_distinct(list(source_ips[-1]))
  AS ips FROM events WHERE NOT starts_with(user_name, 'system:') GROUP BY user_name ORDER BY requests DESC"`.
remediation: >-
  For an unknown identity, find where it is defined (client certificate CN, OIDC issuer, aws-auth or access
  entry mapping), remove its mapping and bindings, and review its activity. Known users go into
  `[allowlists.query_lists] falco-disallowed-k8s-user`, one entry per user with its owner as the reason;
  `kanalytics tune` proposes them from a baseline period.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} ({}) is not an allowed Kubernetes user: {} {}', falco_user, coalesce(source_ip, '?'), verb, coalesce(resource, request_uri)) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND (user_name IS NULL OR NOT is_system_user(user_name))
  AND (
    user_name IS NULL
    OR NOT list_contains(
      list_concat(
        [
          'minikube', 'minikube-user', 'kubelet', 'kops', 'admin', 'kube', 'kube-proxy',
          'kube-apiserver-healthcheck', 'kubernetes-admin', 'vpa-recommender', 'vpa-updater',
          'cluster-autoscaler', 'system:addon-manager', 'cloud-controller-manager',
          'system:kube-controller-manager', 'eks:node-manager', 'eks:certificate-controller',
          'eks:fargate-scheduler', 'eks:k8s-metrics', 'eks:authenticator', 'eks:cluster-event-watcher',
          'eks:nodewatcher', 'eks:pod-identity-mutating-webhook', 'eks:cloud-controller-manager',
          'eks:vpc-resource-controller', 'eks:addon-manager'
      ],
        allowlist_values($query_id)
      ),
      user_name
    )
  )
ORDER BY ts, audit_id

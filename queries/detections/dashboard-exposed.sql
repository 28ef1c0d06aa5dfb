/* ---
id: dashboard-exposed
title: Kubernetes or Kubeflow dashboard exposed or given cluster-admin
kind: detection
severity: high
needs_level: Request
area: network
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC6.1, soc2:CC7.2, iso-27001-2022:A.8.16]
references:
- guardduty:Policy:Kubernetes/ExposedDashboard
- guardduty:Policy:Kubernetes/KubeflowDashboardExposed
- catalog:dashboard-exposed
mitre: [T1133, T1078]
scope: event
description: >-
  Either a Service of type NodePort or LoadBalancer is created or changed for the Kubernetes dashboard (name,
  namespace or selector kubernetes-dashboard) or the Kubeflow central dashboard (centraldashboard), which puts
  the web console on a node port or an external load balancer; or a ClusterRoleBinding or RoleBinding grants
  cluster-admin to a dashboard service account, so that anyone who reaches the dashboard acts as cluster-admin
  (the Tesla cryptojacking pattern). A ClusterIP dashboard behind kubectl proxy is not reported. Per-query
  exceptions (user or object name) come from allow_query_list.
triage: >-
  For a Service, `service_type` says NodePort or LoadBalancer: check whether the load balancer is internal,
  has `loadBalancerSourceRanges`, or sits behind an authenticating proxy (`kubectl get service -n NS NAME -o
  yaml`); for a binding, `role` is cluster-admin and the dashboard account in `summary` now acts for anyone
  who reaches the console. A dashboard behind a VPN or SSO proxy, exposed under a ticket, is the benign case;
  a public address or the cluster-admin binding from an old tutorial is a true positive. See what the
  dashboard's account did: `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb, resource,
  namespace, object_name FROM events WHERE user_name LIKE 'system:serviceaccount:%dashboard%' AND verb NOT IN
  ('get', 'list', 'watch')"`.
remediation: >-
  Put the Service back to ClusterIP (`kubectl patch service -n NS NAME -p '{"spec":{"type":"ClusterIP"}}'`)
  and delete the cluster-admin binding; then review the account's writes and Secret reads since `ts`, looking
  above all for new pods or deployments (the cryptomining pattern). Reach the dashboard through `kubectl
  port-forward` or an authenticating proxy with each user's own token, give its service account only read
  rights, and reject NodePort and LoadBalancer Services in its namespace at admission. A sanctioned exposure
  goes into `[allowlists.query_lists] dashboard-exposed` by object name, with the reason.
--- */
WITH changes AS (
    SELECT *
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage = 'ResponseComplete'
      AND verb IN ('create', 'update', 'patch')
      AND resource IN ('services', 'clusterrolebindings', 'rolebindings')
      AND coalesce(subresource, '') = ''
      AND response_code BETWEEN 200 AND 299
      AND request_object IS NOT NULL
),
hits AS (
    SELECT *, coalesce(object_name, request_object ->> '$.metadata.name') AS name,
        CASE WHEN resource = 'services' THEN format('exposed the dashboard service {}/{} as {}',
                  coalesce(namespace, '-'), coalesce(object_name, request_object ->> '$.metadata.name', '?'),
                  request_object ->> '$.spec.type')
             ELSE format('bound cluster-admin to the dashboard service account(s) {} with {} {}',
                  array_to_string(list_filter(json_extract_string(request_object, '$.subjects[*].name'),
                                              lambda s: contains(lower(s), 'dashboard')), ', '),
                  regexp_replace(resource, 's$', ''), coalesce(object_name, request_object ->> '$.metadata.name', '?'))
        END AS what
    FROM changes
    WHERE (resource = 'services'
           AND request_object ->> '$.spec.type' IN ('NodePort', 'LoadBalancer')
           AND (lower(coalesce(object_name, request_object ->> '$.metadata.name', '')) IN ('kubernetes-dashboard', 'centraldashboard')
                OR namespace = 'kubernetes-dashboard'
                OR list_contains(['kubernetes-dashboard', 'centraldashboard'], request_object ->> '$.spec.selector."k8s-app"')
                OR list_contains(['kubernetes-dashboard', 'centraldashboard'], request_object ->> '$.spec.selector.app')
                OR list_contains(['kubernetes-dashboard', 'centraldashboard'], request_object ->> '$.spec.selector."app.kubernetes.io/name"')))
       OR (resource IN ('clusterrolebindings', 'rolebindings')
           AND request_object ->> '$.roleRef.name' = 'cluster-admin'
           AND list_bool_or(list_transform(
                   coalesce(json_extract(request_object, '$.subjects[*]'), []),
                   lambda s: (s ->> '$.kind') = 'ServiceAccount'
                        AND (contains(lower(s ->> '$.name'), 'kubernetes-dashboard')
                             OR (s ->> '$.namespace') = 'kubernetes-dashboard'
                             OR (s ->> '$.name') = 'centraldashboard'))))
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, name AS object_name,
    format('{} {}', user_name, what) AS summary,
    request_object ->> '$.spec.type' AS service_type, request_object ->> '$.roleRef.name' AS role, user_agent
FROM hits
WHERE NOT allowlisted($query_id, [hits.user_name, hits.name])
ORDER BY ts

/* ---
id: workload-change-anomalous
title: Workload changed by an unusual identity, network or client
kind: anomaly
severity: medium
needs_level: Metadata
area: anomalies
controls: [pci-dss-4.0:10.2.1.2, pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references:
- elastic:Unusual Kubernetes Sensitive Workload Modification
- guardduty:Execution:Kubernetes/AnomalousBehavior.WorkloadDeployed
- catalog:workload-change-anomalous
- catalog:privileged-pod-anomalous
- catalog:hostpath-mount-anomalous
mitre: [T1610, T1098.006]
baseline_days: 30
description: >-
  Compares who created or changed workloads (deployments, daemonsets, statefulsets, cronjobs, jobs and
  directly created pods) in the period with the baseline window, on the combination of identity, client
  network and user-agent product. A change is unusual when that identity never changed workloads in the
  baseline, or did so only from other networks or with other clients. Releases come from a few pipelines and
  operators with fixed origins, so a new combination means a person or a stolen credential is deploying code.
  Built-in controllers and nodes are skipped. One finding per new combination; score 3 for a new identity,
  otherwise the count of new attributes.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
           coalesce(object_name, request_object ->> '$.metadata.name') AS object_name, user_agent,
           lower(coalesce(nullif(regexp_extract(user_agent, '^([^/ ]+)', 1), ''), '(none)')) AS product,
           address_network(client_ip(source_ips)) AS net
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage = 'ResponseComplete'
      AND resource IN ('deployments', 'daemonsets', 'statefulsets', 'cronjobs', 'jobs', 'pods', 'replicasets')
      AND verb IN ('create', 'update', 'patch') AND coalesce(subresource, '') = ''
      AND response_code BETWEEN 200 AND 299
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
      AND NOT is_controller_service_account(user_name)
),
base AS (
    SELECT cluster, user_name, list_distinct(list(net)) AS nets, list_distinct(list(product)) AS products, count(*) AS changes
    FROM ev WHERE request_ts < $period_start GROUP BY cluster, user_name
),
judged AS (
    SELECT e.*, b.nets, b.products, b.changes, b.user_name IS NULL AS new_actor,
           b.user_name IS NOT NULL AND NOT list_contains(b.nets, e.net) AS new_net,
           b.user_name IS NOT NULL AND NOT list_contains(b.products, e.product) AS new_client
    FROM ev e LEFT JOIN base b USING (cluster, user_name)
    WHERE e.request_ts >= $period_start
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} {} {} {}/{} — {}', user_name, CASE verb WHEN 'create' THEN 'created' WHEN 'update' THEN 'replaced' ELSE 'patched' END,
           regexp_replace(resource, 's$', ''), namespace, coalesce(object_name, '?'),
           CASE WHEN new_actor THEN 'it never changed workloads in the baseline'
                ELSE concat_ws(' and ', CASE WHEN new_net THEN 'from new network ' || net END,
                                        CASE WHEN new_client THEN 'with new client "' || user_agent || '"' END) END) AS summary,
    (CASE WHEN new_actor THEN 3 ELSE new_net::INT + new_client::INT END)::DOUBLE AS score,
    CASE WHEN new_actor THEN 'no workload changes by this identity in the baseline window'
         ELSE format('{} workload change(s) in the baseline from network(s) {} with client(s) {}', changes,
                     array_to_string(list_slice(nets, 1, 4), ', '), array_to_string(list_slice(products, 1, 4), ', ')) END AS baseline,
    net AS network, user_agent
FROM judged
WHERE (new_actor OR new_net OR new_client)
  AND NOT allowlisted($query_id, [judged.user_name])
QUALIFY row_number() OVER (PARTITION BY cluster, user_name, new_actor, new_net, new_client ORDER BY request_ts) = 1
ORDER BY ts

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
  Judges each UTC day of the period against the baseline_days days before it (a rolling baseline, so later
  days of a month are compared with earlier ones too): who created or changed workloads (deployments,
  daemonsets, statefulsets, cronjobs, jobs and directly created pods) on the day against its window, on the
  combination of identity, client network and user-agent product. A change is unusual when that identity did
  not change workloads in that window, or did so only from other networks or with other clients. Releases come
  from a few pipelines and operators with fixed origins, so a new combination means a person or a stolen
  credential is deploying code. Built-in controllers and nodes are skipped. One finding per new combination
  and UTC day, at its first change that day; score 3 for a new identity, otherwise the count of new
  attributes.
triage: >-
  The `summary` and `baseline` say what was new: the identity, the `network` or the client (`user_agent`). A
  new pipeline or operator, an engineer's kubectl hotfix during an incident, or CI runners moved to a new
  subnet are the common causes; the GitOps or CI account suddenly used with kubectl, or from a public network,
  means someone deploys with its token. Check what changed, above all the images. Follow-up: `kubectl rollout
  history KIND -n NS NAME` and `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb,
  request_object FROM events WHERE audit_id = 'AUDIT_ID' AND stage = 'ResponseComplete'"` (the body needs the
  Request level).
remediation: >-
  If unauthorised, roll back (`kubectl rollout undo KIND -n NS NAME`) or delete the workload, examine the
  images it ran and what they reached, and revoke the credential used. Keep workload writes in production
  namespaces to the deployer and require signed images at admission. For a new, reviewed pipeline or operator,
  add its account to `[allowlists.query_lists] workload-change-anomalous` with a reason.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
           coalesce(object_name, request_object ->> '$.metadata.name') AS object_name, user_agent,
           lower(coalesce(nullif(regexp_extract(user_agent, '^([^/ ]+)', 1), ''), '(none)')) AS product,
           address_network(client_ip(source_ips)) AS net, date_trunc('day', request_ts) AS day
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
daily AS (  -- per identity, UTC day, network and client: its first change that day, and how many it made
    SELECT *, count(*) OVER (PARTITION BY cluster, user_name, day, net, product) AS n
    FROM ev
    QUALIFY row_number() OVER (PARTITION BY cluster, user_name, day, net, product ORDER BY request_ts, audit_id) = 1
),
windowed AS (  -- each day against the identity's own window: the baseline_days days before it
    SELECT *, list(DISTINCT net) OVER w AS nets, list(DISTINCT product) OVER w AS products,
           coalesce(sum(n) OVER w, 0) AS changes
    FROM daily
    WINDOW w AS (PARTITION BY cluster, user_name ORDER BY day
                 RANGE BETWEEN ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) PRECEDING AND INTERVAL 1 DAY PRECEDING)
),
judged AS (
    SELECT *, changes = 0 AS new_actor,
           changes > 0 AND NOT list_contains(nets, net) AS new_net,
           changes > 0 AND NOT list_contains(products, product) AS new_client
    FROM windowed
    WHERE request_ts >= $period_start
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} {} {} {}/{} — {}', user_name, CASE verb WHEN 'create' THEN 'created' WHEN 'update' THEN 'replaced' ELSE 'patched' END,
           regexp_replace(resource, 's$', ''), namespace, coalesce(object_name, '?'),
           CASE WHEN new_actor THEN 'it did not change workloads in the baseline window before ' || strftime(day, '%Y-%m-%d')
                ELSE concat_ws(' and ', CASE WHEN new_net THEN 'from new network ' || net END,
                                        CASE WHEN new_client THEN 'with new client "' || user_agent || '"' END) END) AS summary,
    (CASE WHEN new_actor THEN 3 ELSE new_net::INT + new_client::INT END)::DOUBLE AS score,
    CASE WHEN new_actor THEN format('no workload changes by this identity in the baseline window before {}', strftime(day, '%Y-%m-%d'))
         ELSE format('{} workload change(s) in the baseline window before {} from network(s) {} with client(s) {}', changes,
                     strftime(day, '%Y-%m-%d'), array_to_string(list_slice(list_sort(nets), 1, 4), ', '),
                     array_to_string(list_slice(list_sort(products), 1, 4), ', ')) END AS baseline,
    net AS network, user_agent
FROM judged
WHERE (new_actor OR new_net OR new_client)
  AND NOT allowlisted($query_id, [judged.user_name])
QUALIFY row_number() OVER (PARTITION BY cluster, user_name, day, new_actor, new_net, new_client ORDER BY request_ts, audit_id) = 1
ORDER BY ts, audit_id

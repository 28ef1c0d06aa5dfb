/* ---
id: automation_users
list: automation_users
recurring: true
context: writes
description: >-
  Service accounts outside the cluster's own machinery (not is_platform_identity) that successfully created,
  changed or deleted workloads or RBAC objects: deployment pipelines and operators. The list silences several
  checks at once (RBAC, CronJobs, secrets, off-hours), so an entry is proposed only for an identity that does
  this on most days.
--- */
SELECT
    cluster,
    user_name AS value,
    list_sort(list(DISTINCT timezone($timezone, request_ts)::DATE)) AS dates,
    count(*) AS events,
    list_sort(list(DISTINCT verb || ' ' || resource)) AS context
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')
  AND coalesce(subresource, '') = ''
  AND resource IN ('pods', 'deployments', 'daemonsets', 'statefulsets', 'replicasets', 'jobs', 'cronjobs',
                   'roles', 'clusterroles', 'rolebindings', 'clusterrolebindings')
  AND is_service_account(user_name) AND NOT is_platform_identity(user_name)
GROUP BY cluster, user_name

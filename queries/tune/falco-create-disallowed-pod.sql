/* ---
id: falco-create-disallowed-pod
list: query_list
for_query: falco-create-disallowed-pod
needs_level: Request
context: namespaces
description: >-
  The image repositories of every pod create as falco-create-disallowed-pod reads them (the falco_pod_creates
  view). That rule is inert while its list is empty, so its own rows cannot be counted: once the list has
  entries, a pod fires unless every one of its repositories is listed.
--- */
SELECT
    cluster,
    repository AS value,
    list_sort(list(DISTINCT timezone($timezone, request_ts)::DATE)) AS dates,
    count(*) AS events,
    list_sort(list(DISTINCT namespace) FILTER (WHERE namespace IS NOT NULL)) AS context
FROM falco_pod_creates, unnest(falco_pod_creates.repositories) AS t(repository)
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND repository IS NOT NULL AND repository <> ''
GROUP BY cluster, repository

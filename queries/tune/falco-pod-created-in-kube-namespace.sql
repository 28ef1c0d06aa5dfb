/* ---
id: falco-pod-created-in-kube-namespace
list: query_list
for_query: falco-pod-created-in-kube-namespace
source_query: falco-pod-created-in-kube-namespace
needs_level: Request
context: created by
description: >-
  The image repositories of the pods falco-pod-created-in-kube-namespace reports (its own rows over the
  period, without allow-lists): pods created in kube-system or kube-public whose images are not all in Falco's
  built-in list. A pod stops firing once every one of its repositories is listed.
--- */
SELECT
    cluster,
    repository AS value,
    list_sort(list(DISTINCT timezone($timezone, ts)::DATE)) AS dates,
    count(*) AS events,
    list_sort(list(DISTINCT user_name) FILTER (WHERE user_name IS NOT NULL)) AS context
FROM query_rows, unnest(query_rows.repositories) AS t(repository)
WHERE repository IS NOT NULL AND repository <> ''
GROUP BY cluster, repository

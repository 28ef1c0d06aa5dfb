/* ---
id: falco-create-disallowed-namespace
list: query_list
for_query: falco-create-disallowed-namespace
source_query: falco-create-disallowed-namespace
context: created by
description: >-
  The namespaces falco-create-disallowed-namespace reports as created (its own rows over the period, without
  allow-lists): every created namespace outside Falco's allowed namespaces.
--- */
SELECT
    cluster,
    object_name AS value,
    list_sort(list(DISTINCT timezone($timezone, ts)::DATE)) AS dates,
    count(*) AS events,
    list_sort(list(DISTINCT user_name) FILTER (WHERE user_name IS NOT NULL)) AS context
FROM query_rows
WHERE object_name IS NOT NULL
GROUP BY cluster, object_name

/* ---
id: allowlist_values
parameters: [for_query]
description: >-
  The values of the per-query allow-list (allowlists.query_lists) of the query `for_query`, as a list (empty
  when there are none); for queries that extend a built-in list, e.g. `list_concat([...],
  allowlist_values($query_id))`.
--- */
coalesce((SELECT list(l.value) FROM allow_query_list l WHERE l.query_id = for_query), []::VARCHAR[])

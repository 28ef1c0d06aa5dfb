/* ---
id: allowlisted
parameters: [for_query, query_values]
description: >-
  Whether the per-query allow-list (allowlists.query_lists) of the query `for_query` holds one of
  `query_values` (a list; nulls in it match nothing). Queries call it as `allowlisted($query_id, [user_name,
  namespace])`: the runner binds $query_id and attributes each suppressed row to the entry it matches.
--- */
EXISTS (SELECT 1 FROM allow_query_list l WHERE l.query_id = for_query AND list_contains(query_values, l.value))

/* ---
id: falco-disallowed-k8s-user
list: query_list
for_query: falco-disallowed-k8s-user
source_query: falco-disallowed-k8s-user
context: source addresses
description: >-
  The users falco-disallowed-k8s-user reports (its own rows over the period, without allow-lists): identities
  with completed requests that are not system:* and not in Falco's allowed-user lists. Listing a user stops
  the rule for that user.
--- */
SELECT
    cluster,
    user_name AS value,
    list_sort(list(DISTINCT timezone($timezone, ts)::DATE)) AS dates,
    count(*) AS events,
    list_sort(list(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)) AS context
FROM query_rows
WHERE user_name IS NOT NULL
GROUP BY cluster, user_name

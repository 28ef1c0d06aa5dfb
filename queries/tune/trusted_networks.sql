/* ---
id: trusted_networks
list: trusted_networks
context: identities
description: >-
  The client addresses (client_ip: the last sourceIPs entry, the address the API server saw) that in-cluster
  identities (service accounts, nodes, components, as system-principal-public-ip judges them) made requests
  from. `kanalytics tune` keeps the public ones (CI runners, a cloud's NAT): each becomes a /32 or /128 entry.
--- */
SELECT
    cluster,
    client_ip(source_ips) AS value,
    list_sort(list(DISTINCT timezone($timezone, request_ts)::DATE)) AS dates,
    count(DISTINCT audit_id) AS events,
    list_sort(list(DISTINCT user_name)) AS context
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage <> 'RequestReceived'
  AND (is_service_account(user_name) OR is_node(user_name) OR is_kube_component(user_name))
  AND client_ip(source_ips) IS NOT NULL
GROUP BY cluster, client_ip(source_ips)

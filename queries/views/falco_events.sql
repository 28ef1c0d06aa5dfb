/* ---
id: falco_events
description: >-
  Every event with the fields the Falco-parity queries (falco-*) print and compare, named once: `ts`,
  `source_ip` (client_ip: the address the API server saw), `falco_user` (user or "(no user)"), `falco_object`
  (the object's name, else the body's name or generateName, else "(unnamed)"), `falco_namespace` (namespace or
  "(cluster)") and `succeeded` (Falco's `ka.response.code startswith 2`; NULL without a response code).
--- */
SELECT *,
    request_ts AS ts,
    client_ip(source_ips) AS source_ip,
    coalesce(user_name, '(no user)') AS falco_user,
    coalesce(object_name, request_object->>'$.metadata.name', request_object->>'$.metadata.generateName',
             '(unnamed)') AS falco_object,
    coalesce(namespace, '(cluster)') AS falco_namespace,
    CAST(response_code AS VARCHAR) LIKE '2%' AS succeeded
FROM events

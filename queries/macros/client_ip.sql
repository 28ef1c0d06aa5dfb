/* ---
id: client_ip
parameters: [source_ips]
description: >-
  The address the API server itself saw the request come from: the last entry of sourceIPs. The API server
  lists X-Forwarded-For entries first, then X-Real-Ip, then the connection's remote address (when it differs
  from the last one so far); every entry but the last can be set by the client, so origin is judged on this
  one. NULL when sourceIPs is missing or empty.
--- */
CASE WHEN len(source_ips) > 0 THEN source_ips[len(source_ips)] END

/* ---
id: forwarded-for-mismatch
title: Request from a public address claiming an internal origin in X-Forwarded-For
kind: detection
severity: medium
needs_level: Metadata
area: network
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [catalog:forwarded-for-mismatch, catalog:system-principal-public-ip]
mitre: [T1036, T1078]
first_per_period: [user_name, source_ip]
description: >-
  An authenticated identity's request reached the API server from a public address (client_ip, the last
  sourceIPs entry: the connection the API server saw) while an earlier entry, which the client sets itself
  through X-Forwarded-For or X-Real-Ip, claims an internal address (private, loopback, link-local or shared
  CGNAT space). Tools that trust the first entry see an in-cluster or office origin; this is how a stolen
  token is replayed from the internet behind `X-Forwarded-For: 10.0.0.1`. The reverse, a private connection
  address with a public forwarded entry, is a load balancer or ingress in front of the API server and is not
  reported, nor is a single-entry sourceIPs. A forward proxy of your own that adds its clients' internal
  addresses and connects from the internet belongs in allow_trusted_networks (its egress address) or this
  query's own list (allowlists.query_lists, by user or address). One row per cluster, identity, address and
  UTC day (its first request that day), with the full chain.
triage: >-
  Compare `source_ip` (the connection the API server saw) with the `claimed_internal` and `forwarded_chain`
  evidence. A forward proxy, VPN concentrator or bastion of your own that adds X-Forwarded-For shows as the
  same public `source_ip` for many identities on many days with the organisation's usual `user_agent`; one
  identity from an address nobody else uses, with curl or a scripting library as `user_agent` and a high
  `requests_from_address`, is a replayed token dressed up as internal traffic. Follow-up: `kanalytics sql
  --month YYYY-MM "SELECT user_name, user_agent, count(*) AS n, min(request_ts), max(request_ts) FROM events
  WHERE source_ips[-1] = 'IP' AND stage = 'ResponseComplete' GROUP BY ALL ORDER BY n DESC"`.
remediation: >-
  If the address is not yours, revoke the identity's credential (service account: delete its pods and legacy
  token Secrets or recreate the account; person: remove the session at the identity provider), block the
  address in front of the API server, and review what it did from there. Restrict the API endpoint to private
  access or authorised networks, and make log pipelines and tools read the last sourceIPs entry, never the
  first. For your own proxy, add its egress range to `[[allowlists.trusted_networks]]` (`cidr`, `reason`) or
  the user or address to `[allowlists.query_lists] forwarded-for-mismatch`.
spark: >-
  calls the Python UDF ip_scope inside a list_filter lambda; Spark 3.5 cannot evaluate a Python UDF inside a
  higher-order function
--- */
WITH chains AS (
    SELECT *, client_ip(source_ips) AS connection_ip,
           list_filter(list_slice(source_ips, 1, len(source_ips) - 1),
                       lambda a: ip_scope(a) IN ('private', 'loopback', 'link-local', 'shared')) AS claimed
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND len(source_ips) > 1
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, connection_ip AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} connected from public address {} while X-Forwarded-For claimed {} ({} {}, "{}")', user_name,
           connection_ip, array_to_string(claimed, ', '), verb, coalesce(resource, request_uri), user_agent) AS summary,
    source_ips AS forwarded_chain, claimed AS claimed_internal, user_agent, response_code,
    count(*) OVER (PARTITION BY cluster, user_name, connection_ip, date_trunc('day', request_ts)) AS requests_from_address
FROM chains e
WHERE len(claimed) > 0
  AND is_public_ip(connection_ip)
  AND NOT is_trusted_network(connection_ip)
  AND NOT allowlisted($query_id, [e.user_name, e.connection_ip])
QUALIFY row_number() OVER (PARTITION BY cluster, user_name, connection_ip, date_trunc('day', request_ts)
                           ORDER BY request_ts, audit_id, stage_ts, event_hash) = 1
ORDER BY ts

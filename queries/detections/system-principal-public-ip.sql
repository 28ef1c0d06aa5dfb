/* ---
id: system-principal-public-ip
title: Service account or node credentials used from a public address
kind: detection
severity: high
needs_level: Metadata
area: network
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- soc2:CC6.1
- pci-dss-4.0:10.2.1.4
references:
- panther:Kubernetes.System.Principal.PublicIP
- panther:Amazon.EKS.Audit.SystemNamespaceFromPublicIP
- catalog:system-principal-public-ip
mitre: [T1078.004, T1528]
description: >-
  A service account, node or control-plane identity made a request whose client address is public: not RFC
  1918, loopback, link-local or carrier-grade NAT space, and not in allow_trusted_networks (IPv4 CIDRs are
  matched with integer arithmetic on the dotted quad). These identities live inside the cluster, so a public
  origin usually means a token or kubeconfig was copied out and is being replayed. One row per identity and
  address (first request).
--- */
-- The client address is turned into an integer once (ipv4: NULL for IPv6 or malformed text), then compared
-- with the private ranges and with each trusted CIDR.
WITH candidates AS (
    SELECT *,
        source_ips[1] AS client_ip,
        CASE WHEN regexp_full_match(source_ips[1], '\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}')
             THEN split_part(source_ips[1], '.', 1)::BIGINT * 16777216 + split_part(source_ips[1], '.', 2)::BIGINT * 65536
                + split_part(source_ips[1], '.', 3)::BIGINT * 256 + split_part(source_ips[1], '.', 4)::BIGINT
        END AS ipv4
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND (is_service_account(user_name) OR is_node(user_name) OR is_kube_component(user_name))
      AND source_ips[1] IS NOT NULL
),
trusted AS (
    SELECT cidr,
        CASE WHEN regexp_full_match(split_part(cidr, '/', 1), '\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}')
             THEN split_part(split_part(cidr, '/', 1), '.', 1)::BIGINT * 16777216 + split_part(split_part(cidr, '/', 1), '.', 2)::BIGINT * 65536
                + split_part(split_part(cidr, '/', 1), '.', 3)::BIGINT * 256 + split_part(split_part(cidr, '/', 1), '.', 4)::BIGINT
        END AS net,
        32 - coalesce(try_cast(nullif(split_part(cidr, '/', 2), '') AS INTEGER), 32) AS shift
    FROM allow_trusted_networks
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} (an in-cluster identity) called the API from public address {} using "{}"', user_name, client_ip, user_agent) AS summary,
    user_agent, response_code,
    count(*) OVER (PARTITION BY cluster, user_name, client_ip) AS requests_from_address
FROM candidates e
WHERE CASE WHEN ipv4 IS NOT NULL THEN NOT (
              ipv4 BETWEEN 167772160 AND 184549375        -- 10.0.0.0/8
           OR ipv4 BETWEEN 2886729728 AND 2887778303      -- 172.16.0.0/12
           OR ipv4 BETWEEN 3232235520 AND 3232301055      -- 192.168.0.0/16
           OR ipv4 BETWEEN 2130706432 AND 2147483647      -- 127.0.0.0/8
           OR ipv4 BETWEEN 2851995648 AND 2852061183      -- 169.254.0.0/16
           OR ipv4 BETWEEN 1681915904 AND 1686110207)     -- 100.64.0.0/10
      ELSE NOT (client_ip = '::1' OR lower(client_ip) SIMILAR TO '(fc|fd|fe8|fe9|fea|feb).*') END
  AND NOT EXISTS (
      SELECT 1 FROM trusted n
      WHERE n.cidr = e.client_ip
         OR (n.net IS NOT NULL AND e.ipv4 IS NOT NULL AND (e.ipv4 >> n.shift) = (n.net >> n.shift)))
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
QUALIFY row_number() OVER (PARTITION BY cluster, user_name, client_ip ORDER BY request_ts) = 1
ORDER BY ts

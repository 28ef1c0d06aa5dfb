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
first_per_period: [user_name, source_ip]
description: >-
  A service account, node or control-plane identity made a request from a public address: the address the API
  server saw (client_ip, the last sourceIPs entry; earlier entries are X-Forwarded-For text the client chose)
  is neither private (RFC 1918, fc00::/7), shared (CGNAT), loopback, link-local nor otherwise reserved
  (is_public_ip; IPv4 and IPv6, IPv4-mapped IPv6 judged as IPv4), and not in allow_trusted_networks
  (is_trusted_network). These identities live inside the cluster, so a public origin usually means a token or
  kubeconfig was copied out and is being replayed; a forged `X-Forwarded-For: 10.0.0.1` does not hide it. One
  row per cluster, identity, address and UTC day (its first request that day).
triage: >-
  Identify `source_ip`: your NAT gateway, nodes in a public subnet reaching a public API endpoint, or an
  external CI runner using a service-account kubeconfig are the usual benign causes and recur daily with the
  same `user_agent` (kubelet, the CI's client). An address of a hosting provider, VPN service or another
  country, curl or kubectl as `user_agent`, or an account that normally runs only inside a pod is a copied
  token or kubeconfig. Follow-up: `kanalytics sql --month YYYY-MM "SELECT user_name, user_agent, count(*) AS
  n, min(request_ts), max(request_ts) FROM events WHERE source_ips[-1] = 'IP' AND stage = 'ResponseComplete'
  GROUP BY ALL ORDER BY n DESC"` shows every identity that used the address.
remediation: >-
  If unauthorised, revoke the credential (service account: delete its pods and legacy token Secrets or
  recreate the account; node: remove the node and its kubelet certificate), block the address, and review what
  was done from it. Keep the API endpoint private or limited to authorised networks, and give external CI its
  own short-lived credential. For your own egress ranges, add them to `[[allowlists.trusted_networks]]`
  (`cidr`, `reason`); a single reviewed identity goes into `[allowlists.query_lists]
  system-principal-public-ip`.
--- */
WITH candidates AS (
    SELECT *, client_ip(source_ips) AS client_ip
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage <> 'RequestReceived'
      AND (is_service_account(user_name) OR is_node(user_name) OR is_kube_component(user_name))
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} (an in-cluster identity) called the API from public address {} using "{}"', user_name, client_ip, user_agent) AS summary,
    user_agent, response_code,
    count(*) OVER (PARTITION BY cluster, user_name, client_ip, date_trunc('day', request_ts)) AS requests_from_address
FROM candidates e
WHERE is_public_ip(client_ip)
  AND NOT is_trusted_network(client_ip)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
QUALIFY row_number() OVER (PARTITION BY cluster, user_name, client_ip, date_trunc('day', request_ts)
                           ORDER BY request_ts, audit_id, stage_ts, event_hash) = 1
ORDER BY ts

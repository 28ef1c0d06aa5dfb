/* ---
id: first-seen-identity-source-network
title: Identity used from a network it never used before
kind: anomaly
severity: medium
needs_level: Metadata
area: anomalies
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- nist-800-53-r5:AU-6(1)
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
references:
- catalog:admin-new-location-ip
- splunk:Kubernetes Abuse of Secret by Unusual Location
- guardduty:CredentialAccess:Kubernetes/AnomalousBehavior.SecretsAccessed
mitre: [T1078]
baseline_days: 30
description: >-
  Compares, per identity, the client networks of the period with those of the baseline window (the days before
  the period), judged on the address the API server saw (client_ip, never the client-supplied X-Forwarded-For
  entries): a public IPv4 address is reduced to its /24, any other IPv4 address to its /16 (pods move between
  node subnets), IPv6 to its /64 (address_network). Reports the first request from each network the identity
  never used in the baseline, for people and service accounts that were active in the baseline (nodes and
  control-plane components are skipped; identities new in the period are reported by
  first-seen-identity-verb-resource). A credential suddenly used from a new network, above all a public one,
  is the clearest sign it was copied. Addresses in allow_trusted_networks (IPv4 or IPv6) are not reported.
  Score 2 for a public network, 1 for a private one.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           user_agent,
           address_network(client_ip(source_ips)) AS net,
           coalesce(is_public_ip(client_ip(source_ips)), false) AS public
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived' AND client_ip(source_ips) IS NOT NULL
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
base AS (
    SELECT cluster, user_name, list_distinct(list(net)) AS nets, count(DISTINCT date_trunc('day', request_ts)) AS days
    FROM ev WHERE request_ts < $period_start GROUP BY cluster, user_name
)
SELECT
    e.request_ts AS ts, e.cluster, e.audit_id, e.user_name, e.source_ip, e.verb, e.resource, e.namespace, e.object_name,
    format('{} used the API from {} network {} for the first time ({} {}, "{}")', e.user_name,
           CASE WHEN e.public THEN 'public' ELSE 'private' END, e.net, e.verb, coalesce(e.resource, ''), e.user_agent) AS summary,
    (CASE WHEN e.public THEN 2 ELSE 1 END)::DOUBLE AS score,
    format('{} network(s) seen in {} active baseline day(s): {}', len(b.nets), b.days,
           array_to_string(list_slice(list_sort(b.nets), 1, 5), ', ')) AS baseline,
    e.net AS network, e.user_agent,
    count(*) OVER (PARTITION BY e.cluster, e.user_name, e.net) AS requests_from_network
FROM ev e JOIN base b USING (cluster, user_name)
WHERE e.request_ts >= $period_start
  AND NOT list_contains(b.nets, e.net)
  AND NOT is_trusted_network(e.source_ip)
QUALIFY row_number() OVER (PARTITION BY e.cluster, e.user_name, e.net ORDER BY e.request_ts) = 1
ORDER BY ts

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
  the period): a public IPv4 address is reduced to its /24, a private one to its /16 (pods move between node
  subnets), IPv6 to its /64. Reports the first request from each network the identity never used in the
  baseline, for people and service accounts that were active in the baseline (nodes and control-plane
  components are skipped; identities new in the period are reported by first-seen-identity-verb-resource). A
  credential suddenly used from a new network, above all a public one, is the clearest sign it was copied.
  Networks in allow_trusted_networks are not reported. Score 2 for a public network, 1 for a private one.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, source_ips[1] AS source_ip, verb, resource, namespace, object_name,
           user_agent,
           CASE WHEN regexp_full_match(source_ips[1], '\d+\.\d+\.\d+\.\d+') THEN
               CASE WHEN regexp_matches(source_ips[1], '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.)')
                    THEN regexp_extract(source_ips[1], '^(\d+\.\d+)\.', 1) || '.0.0/16'
                    ELSE regexp_extract(source_ips[1], '^(\d+\.\d+\.\d+)\.', 1) || '.0/24' END
           ELSE array_to_string(list_slice(string_split(source_ips[1], ':'), 1, 4), ':') || '::/64' END AS net,
           NOT regexp_matches(source_ips[1], '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|::1|f[cd]|fe[89ab])') AS public
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived' AND source_ips[1] IS NOT NULL
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
base AS (
    SELECT cluster, user_name, list_distinct(list(net)) AS nets, count(DISTINCT date_trunc('day', request_ts)) AS days
    FROM ev WHERE request_ts < $period_start GROUP BY cluster, user_name
),
trusted AS (
    SELECT split_part(cidr, '/', 1) AS net_ip, coalesce(try_cast(nullif(split_part(cidr, '/', 2), '') AS INTEGER), 32) AS bits
    FROM allow_trusted_networks
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
  AND NOT EXISTS (
      SELECT 1 FROM trusted t
      WHERE regexp_full_match(t.net_ip, '\d+\.\d+\.\d+\.\d+') AND regexp_full_match(e.source_ip, '\d+\.\d+\.\d+\.\d+')
        AND ((split_part(e.source_ip, '.', 1)::BIGINT * 16777216 + split_part(e.source_ip, '.', 2)::BIGINT * 65536
              + split_part(e.source_ip, '.', 3)::BIGINT * 256 + split_part(e.source_ip, '.', 4)::BIGINT) >> (32 - t.bits))
          = ((split_part(t.net_ip, '.', 1)::BIGINT * 16777216 + split_part(t.net_ip, '.', 2)::BIGINT * 65536
              + split_part(t.net_ip, '.', 3)::BIGINT * 256 + split_part(t.net_ip, '.', 4)::BIGINT) >> (32 - t.bits)))
  AND NOT EXISTS (SELECT 1 FROM allow_trusted_networks t WHERE t.cidr = e.source_ip)
QUALIFY row_number() OVER (PARTITION BY e.cluster, e.user_name, e.net ORDER BY e.request_ts) = 1
ORDER BY ts

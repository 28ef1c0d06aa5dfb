/* ---
id: attack-tool-ua
title: Request from a known attack or reconnaissance tool
kind: detection
severity: high
needs_level: Metadata
area: activity
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.2.1.4
- soc2:CC6.1
references: [sigma:Kubernetes Potential Enumeration Activity, catalog:attack-tool-ua]
mitre: [T1613, T1595]
first_per_period: [user_name, source_ip, user_agent]
description: >-
  The user agent names a Kubernetes attack, secret-scanning or recon tool (rakkess access_matrix, trufflehog,
  azurehound, micro-scanner, kube-hunter, peirates, kubeletctl, kdigger, cdk, kubiscan, botb, kubestriker,
  nuclei, zgrab, masscan, nmap). User agents are client-chosen so absence proves nothing, but a match is
  almost never benign outside an announced penetration test. Allowed and denied requests are both reported,
  one row per identity, address, tool and UTC day (its first request that day).
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} used attack/recon tool "{}" from {} ({} {})', user_name, user_agent, client_ip(source_ips), verb, coalesce(resource, request_uri)) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage <> 'RequestReceived'
  AND regexp_matches(lower(coalesce(user_agent, '')),
          '(access_matrix|rakkess|trufflehog|azurehound|micro-scanner|kube-hunter|kubehunter|peirates|kubeletctl|kdigger|cdk/|kubiscan|botb|kubestriker|nuclei|zgrab|masscan|nmap)')
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
QUALIFY row_number() OVER (PARTITION BY cluster, user_name, client_ip(source_ips), user_agent, date_trunc('day', request_ts)
                           ORDER BY request_ts, audit_id, stage_ts, event_hash) = 1
ORDER BY ts

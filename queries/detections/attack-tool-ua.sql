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
triage: >-
  Read `user_agent` together with `user_name` and `source_ip`: an announced penetration test or the security
  team's scheduled scan (kube-hunter, nuclei) from its known scanner address, with a ticket, is the expected
  cause; a service account token in a tool means it was taken out of a pod. `response_code` shows whether the
  tool was refused (401/403) or got data (2xx), and the finding is only the first request per identity,
  address, tool and day. List everything the tool did: `kanalytics sql --month YYYY-MM "SELECT request_ts,
  user_name, source_ips, verb, resource, namespace, object_name, response_code FROM events WHERE user_agent =
  'UA' ORDER BY request_ts"`.
remediation: >-
  If the scan was not sanctioned, treat the credential as stolen: for a service account delete the pods that
  mount its token and any long-lived `kubernetes.io/service-account-token` Secret, for a person revoke the
  OIDC session, client certificate or cloud key; block `source_ip`, and rotate whatever the 2xx responses
  exposed (Secrets listed or read). A sanctioned test is allow-listed for its duration only, by the tester's
  identity in `[allowlists.query_lists] attack-tool-ua` (matched on user, namespace or object name, not on the
  address), or each finding is recorded with `kanalytics triage set FINDING_ID --verdict benign --note
  "pentest TICKET" --by YOU`.
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

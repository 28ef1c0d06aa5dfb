/* ---
id: unauth-scan
title: Unauthenticated scanning of the API server
kind: detection
severity: high
needs_level: Metadata
area: anonymous
controls:
- pci-dss-4.0:10.2.1.4
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.308(a)(5)(ii)(C)
references:
- elastic:Kubernetes Potential Endpoint Permission Enumeration Attempt by Anonymous User Detected
- splunk:Kubernetes Access Scanning
- splunk:Kubernetes Scanning by Unauthenticated IP Address
- splunk:Amazon EKS Kubernetes cluster scan detection
- catalog:unauth-scan
mitre: [T1613, T1595.003]
description: >-
  One source address, without credentials (system:anonymous, the system:unauthenticated group, or a 401),
  requested at least 5 different paths outside the health endpoints (/healthz, /livez, /readyz, /version) in
  one burst (requests no more than 10 minutes apart within one UTC day; a burst crossing midnight UTC is two
  bursts, each judged on its own), and was refused at least once. Load balancers only probe health endpoints;
  walking many API paths without a credential is an Internet scanner or an attacker looking for anonymous
  access. The summary says how many requests were allowed, which matters most.
triage: >-
  The `allowed` evidence matters most: by default anonymous callers may read only the health and version
  endpoints, which this query leaves out, so any allowed request means a binding grants system:anonymous or
  system:unauthenticated more. Then the `user_agents` and `source_ip`: your own vulnerability scanner (Nessus,
  Qualys) from its known address is expected; masscan, zgrab, Go-http-client or python from a hosting provider
  is an Internet scanner, which only matters if it got in. Follow-up: `kanalytics sql --month YYYY-MM "SELECT
  request_uri, response_code, count(*) AS n FROM events WHERE source_ips[-1] = 'IP' AND stage =
  'ResponseComplete' GROUP BY ALL ORDER BY response_code, request_uri"` and `kubectl get
  clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'`.
remediation: >-
  If anything was allowed, remove the bindings that grant anonymous access and review what was read. Reduce
  exposure: keep the API endpoint private or limited to authorised networks, and turn anonymous authentication
  off (`--anonymous-auth=false`) or, on 1.32 and later, limit it to the health endpoints with the
  authentication configuration's anonymous conditions. Block the address if it keeps scanning. Your own
  scanner's address goes into `[allowlists.query_lists] unauth-scan` with a reason.
--- */
WITH anon AS (
    SELECT cluster, date_trunc('day', request_ts) AS day, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, user_agent, verb, request_uri,
           response_code, authz_decision
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage = 'ResponseComplete'
      AND (is_anonymous(user_name, user_groups) OR response_code = 401)
      AND NOT regexp_matches(request_uri, '^/(healthz|livez|readyz|version)([/?]|$)')
),
marked AS (
    SELECT *, CASE WHEN request_ts - lag(request_ts) OVER (PARTITION BY cluster, source_ip, day ORDER BY request_ts, audit_id)
                        <= INTERVAL 10 MINUTE THEN 0 ELSE 1 END AS new_burst
    FROM anon
),
bursts AS (
    SELECT *, sum(new_burst) OVER (PARTITION BY cluster, source_ip, day ORDER BY request_ts, audit_id ROWS UNBOUNDED PRECEDING) AS burst
    FROM marked
)
SELECT
    min(request_ts) AS ts, cluster, arg_min(audit_id, (request_ts, audit_id)) AS audit_id,
    coalesce(arg_min(user_name, (request_ts, audit_id)), anonymous_user()) AS user_name, source_ip,
    NULL::VARCHAR AS verb, NULL::VARCHAR AS resource, NULL::VARCHAR AS namespace, NULL::VARCHAR AS object_name,
    format('Unauthenticated client {} probed {} different API paths ({} requests, {} allowed, {} refused) using "{}"',
           source_ip, count(DISTINCT split_part(request_uri, '?', 1)), count(*),
           count(*) FILTER (WHERE response_code < 400), count(*) FILTER (WHERE response_code IN (401, 403, 404)),
           arg_min(user_agent, (request_ts, audit_id))) AS summary,
    count(*) AS requests, count(*) FILTER (WHERE response_code < 400) AS allowed,
    count(DISTINCT split_part(request_uri, '?', 1)) AS distinct_paths, max(request_ts) AS last_ts,
    list_sort(list_distinct(list(user_agent))) AS user_agents
FROM bursts
GROUP BY cluster, source_ip, day, burst
HAVING count(DISTINCT split_part(request_uri, '?', 1)) >= 5
   AND count(*) FILTER (WHERE response_code IN (401, 403, 404)) >= 1
   AND NOT allowlisted($query_id, [source_ip])
ORDER BY ts

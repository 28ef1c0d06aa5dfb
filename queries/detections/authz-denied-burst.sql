/* ---
id: authz-denied-burst
title: Burst of denied requests across many resources (permission probing)
kind: detection
severity: medium
needs_level: Metadata
area: failed-access
controls:
- pci-dss-4.0:10.2.1.4
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.308(a)(5)(ii)(C)
- pci-dss-4.0:10.4.1
- pci-dss-4.0:10.4.2
- hipaa:164.308(a)(1)(ii)(D)
references:
- elastic:Kubernetes Potential Endpoint Permission Enumeration Attempt Detected
- panther:Kubernetes.API.Multiple403.PublicIP
- panther:Amazon.EKS.Audit.Multiple403
- datadog:A Kubernetes user attempted to perform a high number of actions that were denied
- catalog:authz-denied-burst
mitre: [T1613, T1069.003]
description: >-
  One authenticated identity received at least 10 authorization denials (403 / decision forbid) touching at
  least 5 different resource types in one burst (denials no more than 10 minutes apart, within one UTC day: a
  burst crossing midnight UTC is two bursts, each judged on its own), one finding per burst. A misconfigured
  application is denied the same call over and over; trying many different resources, often together with
  "kubectl auth can-i" reviews, is someone mapping what a credential can do. Nodes and control-plane
  components are ignored; anonymous probing is reported by unauth-scan.
triage: >-
  `summary` lists up to eight of the denied targets; the `denials`, `distinct_resources`, `last_ts`,
  `source_ips` and `user_agents` evidence give the size, end, origin and tools of the burst. Benign bursts
  look like a newly deployed operator or chart whose Role lacks a rule (a service account, the same client,
  repeating), a person with a narrow role browsing with k9s, Lens or `kubectl get all`, or rights removed
  during an upgrade; probing looks like secrets, roles, nodes and CRDs tried in a row next to `kubectl auth
  can-i` reviews, a service account calling from outside the pod network, or curl/python user agents. Check
  what the identity got right around the burst: `kanalytics sql --month YYYY-MM "SELECT request_ts, verb,
  resource, namespace, response_code, user_agent FROM events WHERE user_name = 'USER' ORDER BY request_ts"`.
remediation: >-
  For probing, revoke the credential (delete the pods that mount the service account token, or revoke the
  user's token or certificate), block the address, and review what it can still do with `kubectl auth can-i
  --list --as USER` and what its successful requests touched. For a misconfigured application, add the one
  missing rule to its Role or fix the client instead of widening rights. An identity whose denials are
  understood and accepted goes into `[allowlists.query_lists] authz-denied-burst` (matched on user_name), with
  the reason.
--- */
WITH denied AS (
    SELECT cluster, date_trunc('day', request_ts) AS day, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, user_agent, verb,
           coalesce(resource, request_uri) AS target, namespace
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage = 'ResponseComplete'
      AND (response_code = 403 OR authz_decision = 'forbid')
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
marked AS (
    SELECT *, CASE WHEN request_ts - lag(request_ts) OVER (PARTITION BY cluster, user_name, day ORDER BY request_ts, audit_id)
                        <= INTERVAL 10 MINUTE THEN 0 ELSE 1 END AS new_burst
    FROM denied
),
bursts AS (
    SELECT *, sum(new_burst) OVER (PARTITION BY cluster, user_name, day ORDER BY request_ts, audit_id ROWS UNBOUNDED PRECEDING) AS burst
    FROM marked
)
SELECT
    min(request_ts) AS ts, cluster, arg_min(audit_id, (request_ts, audit_id)) AS audit_id, user_name,
    arg_min(source_ip, (request_ts, audit_id)) AS source_ip, NULL::VARCHAR AS verb, NULL::VARCHAR AS resource,
    NULL::VARCHAR AS namespace, NULL::VARCHAR AS object_name,
    format('{} was denied {} times on {} different resources within {} minutes ({})', user_name, count(*),
           count(DISTINCT target), greatest(1, ceil(epoch(max(request_ts) - min(request_ts)) / 60)::INTEGER),
           array_to_string(list_slice(list_sort(list_distinct(list(target))), 1, 8), ', ')) AS summary,
    count(*) AS denials, count(DISTINCT target) AS distinct_resources, max(request_ts) AS last_ts,
    list_sort(list_distinct(list(source_ip))) AS source_ips, list_sort(list_distinct(list(user_agent))) AS user_agents
FROM bursts
GROUP BY cluster, user_name, day, burst
HAVING count(*) >= 10 AND count(DISTINCT target) >= 5
   AND NOT allowlisted($query_id, [user_name])
ORDER BY ts

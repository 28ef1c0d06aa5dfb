/* ---
id: secrets-unusual-accessor
title: Secrets read by an unusual accessor
kind: anomaly
severity: medium
needs_level: Metadata
area: secrets
controls:
- pci-dss-4.0:10.2.1.1
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.4.1
- pci-dss-4.0:10.4.2
- hipaa:164.308(a)(1)(ii)(D)
references:
- elastic:Kubernetes Secret Access via Unusual User Agent
- splunk:Kubernetes Abuse of Secret by Unusual Location
- splunk:Kubernetes Abuse of Secret by Unusual User Agent
- splunk:Kubernetes Abuse of Secret by Unusual User Group
- splunk:Kubernetes Abuse of Secret by Unusual User Name
- guardduty:CredentialAccess:Kubernetes/AnomalousBehavior.SecretsAccessed
- catalog:secrets-unusual-accessor
mitre: [T1552.007]
baseline_days: 30
description: >-
  Compares who read Secrets (get, list, watch that succeeded) in the period with the baseline window. A read
  is unusual when the identity never read Secrets in the baseline, or read them only from other networks
  (public /24, private /16) or with other client programs (user-agent product). One finding per identity and
  reason, at its first read; the score counts how many of the three are new (identity, network, client).
  Secrets are the credentials of the cluster, and their readers are a small, stable set; a new reader or a
  known reader from a new place is the event most worth reviewing. Nodes and control-plane components are
  skipped; secret operators can be listed in allow_automation_users.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           user_agent, lower(coalesce(nullif(regexp_extract(user_agent, '^([^/ ]+)', 1), ''), '(none)')) AS product,
           address_network(client_ip(source_ips)) AS net
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage = 'ResponseComplete' AND resource = 'secrets' AND verb IN ('get', 'list', 'watch')
      AND response_code BETWEEN 200 AND 299
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
      AND user_name NOT IN (SELECT value FROM allow_automation_users)
),
base AS (
    SELECT cluster, user_name, list_distinct(list(net)) AS nets, list_distinct(list(product)) AS products, count(*) AS reads
    FROM ev WHERE request_ts < $period_start GROUP BY cluster, user_name
),
judged AS (
    SELECT e.*, b.nets, b.products, b.reads,
           b.user_name IS NULL AS new_reader,
           b.user_name IS NOT NULL AND NOT list_contains(b.nets, e.net) AS new_net,
           b.user_name IS NOT NULL AND NOT list_contains(b.products, e.product) AS new_client
    FROM ev e LEFT JOIN base b USING (cluster, user_name)
    WHERE e.request_ts >= $period_start
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} {} secrets {}{} — {}', user_name, CASE verb WHEN 'get' THEN 'read' WHEN 'list' THEN 'listed' ELSE 'watched' END,
           coalesce('in ' || namespace, 'across all namespaces'), coalesce(' (' || object_name || ')', ''),
           CASE WHEN new_reader THEN 'it never read Secrets in the baseline'
                ELSE concat_ws(' and ', CASE WHEN new_net THEN 'from new network ' || net END,
                                        CASE WHEN new_client THEN 'with new client "' || user_agent || '"' END) END) AS summary,
    (CASE WHEN new_reader THEN 3 ELSE new_net::INT + new_client::INT END)::DOUBLE AS score,
    CASE WHEN new_reader THEN 'no Secret reads by this identity in the baseline window'
         ELSE format('{} Secret read(s) in the baseline from network(s) {} with client(s) {}', reads,
                     array_to_string(list_slice(nets, 1, 4), ', '), array_to_string(list_slice(products, 1, 4), ', ')) END AS baseline,
    net AS network, user_agent
FROM judged
WHERE new_reader OR new_net OR new_client
QUALIFY row_number() OVER (PARTITION BY cluster, user_name, new_reader, new_net, new_client ORDER BY request_ts) = 1
ORDER BY ts

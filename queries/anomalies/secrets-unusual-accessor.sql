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
  Judges each UTC day of the period against the baseline_days days before it (a rolling baseline, so later
  days of a month are compared with earlier ones too): who read Secrets (get, list, watch that succeeded) on
  the day against who read them in its window. A read is unusual when the identity did not read Secrets in
  that window, or read them only from other networks (public /24, private /16) or with other client programs
  (user-agent product). One finding per identity, reason and UTC day, at its first read that day; the score
  counts how many of the three are new (identity, network, client). Secrets are the credentials of the
  cluster, and their readers are a small, stable set; a new reader or a known reader from a new place is the
  event most worth reviewing. Nodes and control-plane components are skipped; secret operators can be listed
  in allow_automation_users.
triage: >-
  The `summary` says why the read is unusual (a new reader, a new `network`, a new client in `user_agent`) and
  `baseline` what was usual. A new reader right after a release that added a Secret-reading feature or
  installed an operator, or a known reader's pods moving to a new node subnet (a new private network), is
  benign; a known reader from a public network, or a new client such as kubectl or curl for an application
  account, points at a copied token. Follow-up: `kanalytics sql --month YYYY-MM "SELECT namespace,
  object_name, verb, count(*) AS n FROM events WHERE user_name = 'USER' AND resource = 'secrets' AND stage =
  'ResponseComplete' AND response_code BETWEEN 200 AND 299 GROUP BY ALL ORDER BY n DESC"` shows what it read.
remediation: >-
  If unauthorised, rotate the Secrets it read and revoke its credential, then look for use of those values
  elsewhere. Keep Secret reads to named objects (`resourceNames`) so a new reader needs a reviewed grant. A
  secret operator that is expected to read widely goes into `[[allowlists.automation_users]]`; record other
  reviewed reads with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           user_agent, lower(coalesce(nullif(regexp_extract(user_agent, '^([^/ ]+)', 1), ''), '(none)')) AS product,
           address_network(client_ip(source_ips)) AS net, date_trunc('day', request_ts) AS day
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage = 'ResponseComplete' AND resource = 'secrets' AND verb IN ('get', 'list', 'watch')
      AND response_code BETWEEN 200 AND 299
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
      AND user_name NOT IN (SELECT value FROM allow_automation_users)
),
daily AS (  -- per identity, UTC day, network and client: its first read that day, and how many it made
    SELECT *, count(*) OVER (PARTITION BY cluster, user_name, day, net, product) AS n
    FROM ev
    QUALIFY row_number() OVER (PARTITION BY cluster, user_name, day, net, product ORDER BY request_ts, audit_id) = 1
),
windowed AS (  -- each day against the identity's own window: the baseline_days days before it
    SELECT *, list(DISTINCT net) OVER w AS nets, list(DISTINCT product) OVER w AS products,
           coalesce(sum(n) OVER w, 0) AS reads
    FROM daily
    WINDOW w AS (PARTITION BY cluster, user_name ORDER BY day
                 RANGE BETWEEN ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) PRECEDING AND INTERVAL 1 DAY PRECEDING)
),
judged AS (
    SELECT *, reads = 0 AS new_reader,
           reads > 0 AND NOT list_contains(nets, net) AS new_net,
           reads > 0 AND NOT list_contains(products, product) AS new_client
    FROM windowed
    WHERE request_ts >= $period_start
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} {} secrets {}{} — {}', user_name, CASE verb WHEN 'get' THEN 'read' WHEN 'list' THEN 'listed' ELSE 'watched' END,
           coalesce('in ' || namespace, 'across all namespaces'), coalesce(' (' || object_name || ')', ''),
           CASE WHEN new_reader THEN 'it did not read Secrets in the baseline window before ' || strftime(day, '%Y-%m-%d')
                ELSE concat_ws(' and ', CASE WHEN new_net THEN 'from new network ' || net END,
                                        CASE WHEN new_client THEN 'with new client "' || user_agent || '"' END) END) AS summary,
    (CASE WHEN new_reader THEN 3 ELSE new_net::INT + new_client::INT END)::DOUBLE AS score,
    CASE WHEN new_reader THEN format('no Secret reads by this identity in the baseline window before {}', strftime(day, '%Y-%m-%d'))
         ELSE format('{} Secret read(s) in the baseline window before {} from network(s) {} with client(s) {}', reads,
                     strftime(day, '%Y-%m-%d'), array_to_string(list_slice(list_sort(nets), 1, 4), ', '),
                     array_to_string(list_slice(list_sort(products), 1, 4), ', ')) END AS baseline,
    net AS network, user_agent
FROM judged
WHERE new_reader OR new_net OR new_client
QUALIFY row_number() OVER (PARTITION BY cluster, user_name, day, new_reader, new_net, new_client ORDER BY request_ts, audit_id) = 1
ORDER BY ts, audit_id

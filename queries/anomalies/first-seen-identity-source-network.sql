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
  Judges each UTC day of the period against the baseline_days days before it (a rolling baseline, so later
  days of a month are compared with earlier ones too): per identity, the client networks of the day against
  those of its window, judged on the address the API server saw (client_ip, never the client-supplied
  X-Forwarded-For entries): a public IPv4 address is reduced to its /24, any other IPv4 address to its /16
  (pods move between node subnets), IPv6 to its /64 (address_network). Reports, per UTC day, the first request
  from each network the identity did not use in that window, for people and service accounts that were active
  in it (nodes and control-plane components are skipped; identities new in the window are reported by
  first-seen-identity-verb-resource). A credential suddenly used from a new network, above all a public one,
  is the clearest sign it was copied. Addresses in allow_trusted_networks (IPv4 or IPv6) are not reported.
  Score 2 for a public network, 1 for a private one.
triage: >-
  Compare the new `network` with the networks in `baseline`, and look at `score` (2: public) and
  `requests_from_network`: for a person, a new home provider, travel or a changed VPN egress is common and the
  `user_agent` stays the same; for a service account, a new private /16 follows a new node subnet or cluster
  expansion, while a public network means its token is used outside the cluster. A hosting provider's or
  anonymising service's address together with a new `user_agent` is the strongest sign of a copied credential.
  Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, verb, resource, namespace, object_name,
  user_agent FROM events WHERE user_name = 'USER' AND source_ips[-1] = 'IP' AND stage = 'ResponseComplete'
  ORDER BY request_ts"` shows everything done from there.
remediation: >-
  If it was not the owner, revoke the credential (a person: disable the login at the identity provider, and
  unbind a client certificate, which cannot be revoked; a service account: delete its pods and legacy token
  Secrets or recreate it) and review the actions from that network. Restrict the API endpoint to the VPN and
  authorised networks. Add a known egress range to `[[allowlists.trusted_networks]]` (`cidr`, `reason`); a
  one-off (travel) is recorded with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
WITH ev AS (
    SELECT cluster, request_ts, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace, object_name,
           user_agent, date_trunc('day', request_ts) AS day,
           address_network(client_ip(source_ips)) AS net,
           coalesce(is_public_ip(client_ip(source_ips)), false) AS public
    FROM events
    WHERE request_ts >= $baseline_start AND request_ts < $period_end
      AND stage <> 'RequestReceived' AND client_ip(source_ips) IS NOT NULL
      AND user_name IS NOT NULL AND NOT is_anonymous(user_name, user_groups)
      AND NOT is_platform_identity(user_name)
),
daily AS (  -- per identity, UTC day and network: its first request that day, and how many it made
    SELECT *, count(*) OVER (PARTITION BY cluster, user_name, day, net) AS requests_from_network
    FROM ev
    QUALIFY row_number() OVER (PARTITION BY cluster, user_name, day, net ORDER BY request_ts, audit_id) = 1
),
judged AS (  -- each day against the identity's own window: the baseline_days days before it
    SELECT *, list(DISTINCT net) OVER w AS nets, count(DISTINCT day) OVER w AS days
    FROM daily
    WINDOW w AS (PARTITION BY cluster, user_name ORDER BY day
                 RANGE BETWEEN ($period_start::TIMESTAMPTZ - $baseline_start::TIMESTAMPTZ) PRECEDING AND INTERVAL 1 DAY PRECEDING)
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} used the API from {} network {}, not used in the baseline window before {} ({} {}, "{}")', user_name,
           CASE WHEN public THEN 'public' ELSE 'private' END, net, strftime(day, '%Y-%m-%d'), verb, coalesce(resource, ''),
           user_agent) AS summary,
    (CASE WHEN public THEN 2 ELSE 1 END)::DOUBLE AS score,
    format('{} network(s) seen in {} active day(s) of the baseline window before {}: {}', len(nets), days,
           strftime(day, '%Y-%m-%d'), array_to_string(list_slice(list_sort(nets), 1, 5), ', ')) AS baseline,
    net AS network, user_agent, requests_from_network
FROM judged
WHERE request_ts >= $period_start AND days > 0
  AND NOT list_contains(nets, net)
  AND NOT is_trusted_network(source_ip)
ORDER BY ts, audit_id

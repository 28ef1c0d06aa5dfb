/* ---
id: falco-anonymous-request-allowed
title: Anonymous request allowed
kind: detection
severity: medium
needs_level: Metadata
area: anonymous
controls: [pci-dss-4.0:10.2.1.4, nist-800-53-r5:AU-6, soc2:CC6.1]
references: [falco:Anonymous Request Allowed]
mitre: [T1078.001]
pattern: [summary]
scope: event
description: >-
  A request by system:anonymous that authorization allowed, other than the /healthz, /livez and /readyz
  probes.
triage: >-
  `summary` carries the verb and request URI: `/version` from a load balancer or monitoring address
  (`source_ip`) is the usual noise, since the built-in `system:public-info-viewer` role lets anonymous callers
  read it, whereas a resource under /api or /apis (`resource`, `namespace`, `object_name` set) means some
  binding grants anonymous callers real rights. List which anonymous requests were allowed and from where:
  `kanalytics sql --month YYYY-MM "SELECT request_uri, source_ips[-1] AS ip, count(*) AS n FROM events WHERE
  user_name = 'system:anonymous' AND authz_decision = 'allow' GROUP BY ALL ORDER BY n DESC"`.
remediation: >-
  For resource access, find and delete the binding to system:anonymous or system:unauthenticated (`kubectl get
  clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'`) and review what
  was read. Turn anonymous authentication off, or limit it to /healthz, /livez and /readyz with an
  AuthenticationConfiguration, and point health checks at those paths. This Falco rule has no allow-list:
  record reviewed probes with `kanalytics triage set FINDING_ID --verdict benign --note "LB /version probe"
  --by YOU`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('anonymous request allowed: {} {} from {}', verb, request_uri, coalesce(source_ip, '?')) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND user_name = anonymous_user() AND authz_decision = 'allow'
  AND NOT (request_uri IN ('/healthz', '/livez', '/readyz') OR starts_with(request_uri, '/healthz?')
           OR starts_with(request_uri, '/livez?') OR starts_with(request_uri, '/readyz?'))
ORDER BY ts, audit_id

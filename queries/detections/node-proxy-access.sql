/* ---
id: node-proxy-access
title: API server used as a proxy to a kubelet
kind: detection
severity: high
needs_level: Metadata
area: exec
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- soc2:CC6.1
references: [elastic:Kubernetes API Server Proxying Request to Kubelet, catalog:node-proxy-access]
mitre: [T1611, T1613]
description: >-
  A request to the nodes/proxy subresource other than metrics, stats, healthz or configz scraping. Through it
  the caller talks to the kubelet API with the API server's credentials: it can run commands in any pod on the
  node (/exec, /run) without a pods/exec audit record.
triage: >-
  The kubelet path in the `summary` says what was done: `/exec/`, `/run/` and `/attach/` ran commands in a pod
  of node `object_name` without any pods/exec record, `/pods` lists the node's pods, `/logs/` and
  `/containerLogs/` read logs. Monitoring agents that read `/pods` or logs through the API server from their
  own service account are the usual benign cause; a person, a workload account or a `user_agent` such as curl
  calling exec or run paths is not. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts,
  request_uri, response_code, user_agent FROM events WHERE user_name = 'USER' AND resource = 'nodes' AND
  subresource = 'proxy' AND stage = 'ResponseComplete' ORDER BY request_ts"` and `kubectl auth can-i get
  nodes/proxy --as USER`.
remediation: >-
  If unauthorised, remove `nodes/proxy` from the identity's roles (metrics collectors need `nodes/metrics` and
  `nodes/stats`, never proxy), treat the pods named in the exec or run paths as compromised (restart them,
  rotate their Secrets and tokens) and revoke the credential that was used. Treat any grant of nodes/proxy as
  command execution on every node when reviewing roles (role-sensitive-perms reports new ones). For a reviewed
  agent, add its user to `[allowlists.query_lists] node-proxy-access` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} proxied {} {} to the kubelet of node {}', user_name, upper(verb), request_uri, object_name) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage IN ('ResponseStarted', 'ResponseComplete')
  AND (response_code BETWEEN 200 AND 299 OR response_code = 101)
  AND resource = 'nodes' AND subresource = 'proxy'
      AND NOT regexp_matches(request_uri, '/proxy/(metrics|stats|healthz|configz|spec)')
      AND NOT is_platform_identity(user_name)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
-- one row per request (its first logged stage): a request is its auditID with its receipt time, user and URI,
-- as in pod_exec_sessions, so a client reusing an auditID on another request (or day) keeps both
QUALIFY row_number() OVER (PARTITION BY cluster, audit_id, request_ts, user_name, request_uri
                           ORDER BY stage_ts, event_hash) = 1
ORDER BY ts

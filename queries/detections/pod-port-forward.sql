/* ---
id: pod-port-forward
title: Port-forward into a pod by a person or an unexpected workload
kind: detection
severity: low
needs_level: Metadata
area: exec
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC6.1, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:port-forward, catalog:exec-into-pod]
mitre: [T1572]
pattern: [namespace]
description: >-
  A successful port-forward (pods/portforward accepted: 101 or 2xx) into a pod by a person, an anonymous
  client or a service account that is neither the cluster's own machinery nor a controller, counted once per
  request whatever stages the audit policy logs (falco-port-forward, the Falco-parity rule, counts every stage
  and denied requests too). A port-forward tunnels from the client's machine straight to a pod's port, past
  Services, Ingress and NetworkPolicy: a database or an admin port becomes reachable from a laptop. Low: it is
  how engineers reach databases and dashboards; recurring habits show as such against the baseline, and
  allowlists.query_lists.pod-port-forward takes users, namespaces or pods.
triage: >-
  Read the `ports` evidence with `namespace` and `object_name`: a developer reaching a staging database (5432,
  3306, 6379) or a dashboard from the VPN `source_ip` is how port-forward is meant to be used; a production
  database, an admin or debug port, another team's namespace, or a service account forwarding (its token used
  from a laptop) is not. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, namespace,
  object_name, request_uri, source_ips[-1] AS client_ip FROM events WHERE user_name = 'USER' AND subresource =
  'portforward' AND stage = 'ResponseComplete' ORDER BY request_ts"` shows the identity's habit and where it
  connects from.
remediation: >-
  If unauthorised, end the session (stop the client, or delete the pod), rotate the credentials of the service
  behind the forwarded port and check its own logs for what was read, and revoke the identity's `create` and
  `get` on `pods/portforward`. Offer reviewed access paths instead (a bastion, a Service behind
  NetworkPolicy). For recurring legitimate use, add the user, namespace or pod to `[allowlists.query_lists]
  pod-port-forward` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_name,
    format('{} port-forwarded to pod {}/{}{}', coalesce(user_name, '(unknown user)'), coalesce(namespace, '-'),
           coalesce(object_name, '?'), CASE WHEN ports <> '' THEN ' (port ' || ports || ')' ELSE '' END) AS summary,
    ports, stage, user_agent, response_code
FROM (
    SELECT *, array_to_string(regexp_extract_all(request_uri, '[?&]ports=([^&]*)', 1), ', ') AS ports
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage IN ('ResponseStarted', 'ResponseComplete')
      AND stream_accepted(response_code)
      AND resource = 'pods' AND subresource = 'portforward'
    -- one row per request, the richest stage first: as pod_exec_sessions does for exec and attach
    QUALIFY row_number() OVER (
        PARTITION BY cluster, audit_id, request_ts, user_name, request_uri
        ORDER BY stage = 'ResponseComplete' DESC, stage_ts DESC, event_hash) = 1
) e
WHERE NOT coalesce(is_platform_identity(user_name) OR is_controller_service_account(user_name), false)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts, audit_id

/* ---
id: pod-exec
title: Exec or attach into a pod by a person or an unexpected workload
kind: detection
severity: low
needs_level: Metadata
area: exec
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
references:
- elastic:Kubernetes User Exec into Pod
- sigma:Potential Remote Command Execution In Pod Container
- panther:Kubernetes.Pod.Exec
- datadog:User Exec into a Pod
- catalog:exec-into-pod
mitre: [T1609]
pattern: [namespace]
description: >-
  A successful exec or attach into a pod outside kube-system (kube-system is exec-kube-system-pod, high) by a
  person, an anonymous client or a service account that is neither the cluster's own machinery nor a
  controller, counted once per request whatever stages the audit policy logs (pod_exec_sessions), so a policy
  that omits ResponseStarted is not blind to it. A shell in a pod runs with the pod's service account and
  secrets and leaves no further trace in the audit log. Low: engineers exec to debug every day and operators
  (backup hooks, CI runners) exec by design; the baseline shows a habit (the same identity into the same
  namespace on many days) as recurring, and allowlists.query_lists.pod-exec takes users, namespaces or pods.
  Denied attempts (403) are not sessions: the failed-access queries report them.
triage: >-
  Read the `command` and `interactive` evidence: an interactive `sh` or `bash` is a person working inside the
  pod, a fixed command (pg_dump, a migration, a backup hook) repeated by the same service account every day is
  automation. Check `user_name` against the team that owns `namespace` and an open incident or change;
  commands such as `env`, `cat /var/run/secrets/...`, curl or wget of a script, or nc point at credential
  theft or tooling. Follow-up: `kanalytics sql --month YYYY-MM "SELECT request_ts, namespace, object_name,
  request_uri, source_ips FROM events WHERE user_name = 'USER' AND subresource IN ('exec', 'attach') AND stage
  <> 'RequestReceived' ORDER BY request_ts"` shows the identity's other sessions and their commands.
remediation: >-
  If unauthorised, delete the pod (its controller recreates it clean), rotate the Secrets and service-account
  token mounted in it, since the shell had them, and revoke the identity's `create` and `get` on `pods/exec`
  and `pods/attach`. Replace standing exec rights with time-bound, audited access for on-call. For recurring
  legitimate sessions, add the user, namespace or pod to `[allowlists.query_lists] pod-exec` with a reason, or
  record a one-off with `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_name,
    format('{} {} pod {}/{}{}', coalesce(user_name, '(unknown user)'),
           CASE WHEN subresource = 'attach' THEN 'attached to'
                WHEN interactive THEN 'opened an interactive exec into' ELSE 'ran a command in' END,
           coalesce(namespace, '-'), coalesce(object_name, '?'),
           CASE WHEN command <> '' THEN ': "' || command || '"' ELSE '' END) AS summary,
    subresource, command, container, interactive, stage, user_agent, response_code
FROM pod_exec_sessions e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND coalesce(namespace, '') <> 'kube-system'
  AND NOT coalesce(is_platform_identity(user_name) OR is_controller_service_account(user_name), false)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts, audit_id

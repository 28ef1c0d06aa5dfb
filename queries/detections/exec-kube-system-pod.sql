/* ---
id: exec-kube-system-pod
title: Command executed in a kube-system pod
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
references: [guardduty:Execution:Kubernetes/ExecInKubeSystemPod, catalog:exec-kube-system-pod]
mitre: [T1609]
description: >-
  A successful exec or attach into a pod in kube-system. Pods there run the cluster's own components with
  powerful service-account tokens and host access; a shell in one is close to cluster-admin. Exec into other
  namespaces is reported by pod-exec (low); this one stands out because of the target. Counted once per
  request whatever stages the audit policy logs (pod_exec_sessions); denied attempts are not sessions.
triage: >-
  `user_name`, `object_name` (which component: CoreDNS, CNI, kube-proxy, a CSI driver) and the `command`,
  `container` and `interactive` evidence tell a debugging session from a token grab: an empty command with
  `interactive` true is a shell or attach, and `cat .../serviceaccount/token` is theft. Expected: a platform
  engineer investigating DNS or networking with a ticket; suspicious: an application team's identity, a
  service account, or an address outside your admin networks (`source_ip`). List the identity's sessions
  across the cluster: `kanalytics sql --month YYYY-MM "SELECT DISTINCT request_ts, namespace, object_name,
  subresource, request_uri, source_ips FROM events WHERE user_name = 'USER' AND subresource IN ('exec',
  'attach') ORDER BY request_ts"`.
remediation: >-
  If not authorised: revoke the user's credentials and the binding that lets them exec in kube-system, restart
  the pod (its controller recreates it with a new bound token), and review requests made by the pod's service
  account from addresses other than the pod's. Grant create on pods/exec and pods/attach in kube-system only
  to a break-glass group, used with a ticket. That group's members go into `[allowlists.query_lists]
  exec-kube-system-pod`, or each session is recorded with `kanalytics triage set FINDING_ID --verdict benign
  --note "TICKET" --by YOU`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_name,
    format('{} opened {} into kube-system pod {}{}', coalesce(user_name, '(unknown user)'), subresource,
           coalesce(object_name, '?'), CASE WHEN command <> '' THEN ' running "' || command || '"' ELSE '' END) AS summary,
    user_agent, response_code,
    command, container, interactive, stage
FROM pod_exec_sessions e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND namespace = 'kube-system'
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

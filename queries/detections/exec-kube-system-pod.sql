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

/* ---
id: exec-cmd-credential-files
title: Exec command reads credential files inside a pod
kind: detection
severity: critical
needs_level: Metadata
area: exec
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.2.1.1
- soc2:CC6.1
- pci-dss-4.0:10.4.1
- pci-dss-4.0:10.4.2
- hipaa:164.308(a)(1)(ii)(D)
references:
- elastic:Kubernetes Pod Exec Sensitive File or Credential Path Access
- panther:Kubernetes.Pod.StealServiceAccountToken
- catalog:exec-cmd-credential-files
mitre: [T1552.001, T1552.007, T1609]
description: >-
  An exec session into a pod whose command line (the command= parameters of the request URI, so this works at
  Metadata level) touches credential material: the mounted service-account token under
  /var/run/secrets/kubernetes.io, /etc/kubernetes, kubelet state, /etc/shadow, cloud or kube configs, SSH
  keys, private keys or the environ file of a process under /proc. Reading a pod's token from outside is how
  an attacker borrows that pod's identity; legitimate tooling almost never does it through kubectl exec.
triage: >-
  The `command` evidence shows which file was touched: reading `serviceaccount/token`, a kubeconfig,
  `/etc/shadow`, private keys or a process's `environ` is theft, while listing `serviceaccount/namespace` or
  `ca.crt` while debugging RBAC is harmless. Weigh `user_name`, `source_ip` and the pod in
  `namespace`/`object_name`; tooling almost never reads credentials through kubectl exec. Find the pod's
  service account (`kubectl get pod -n NS NAME -o jsonpath='{.spec.serviceAccountName}'`) and check whether
  its token was then used from a new place: `kanalytics sql --month YYYY-MM "SELECT source_ips[-1] AS ip,
  user_agent, count(*) AS n FROM events WHERE user_name = 'system:serviceaccount:NS:SA' GROUP BY ALL"`.
remediation: >-
  Assume the material was copied: delete the pod (its bound token is invalidated), rotate any long-lived token
  Secret of its service account and every key, password or cloud credential the command read, and revoke the
  exec user's credentials while their other sessions are reviewed. Remove create on pods/exec from roles that
  do not need it, and set `automountServiceAccountToken: false` where a workload never calls the API. A
  reviewed diagnostic identity goes into `[allowlists.query_lists] exec-cmd-credential-files`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} ran "{}" in pod {}/{} (credential file access)', user_name, command, namespace, object_name) AS summary,
    user_agent, response_code,
    command
FROM pod_exec_sessions e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND subresource = 'exec'
  AND regexp_matches(command, '(/var/run/secrets|/run/secrets/kubernetes|/etc/kubernetes|/var/lib/kubelet|/etc/shadow|/etc/sudoers|\.kube/config|\.aws/credentials|\.ssh/|id_rsa|\.pem\b|\.key\b|/proc/[^ ]*/environ|serviceaccount/token)')
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

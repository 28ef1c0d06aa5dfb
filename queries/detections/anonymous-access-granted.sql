/* ---
id: anonymous-access-granted
title: Role binding grants rights to anonymous users
kind: detection
severity: critical
needs_level: Request
area: anonymous
controls:
- pci-dss-4.0:10.2.1.5
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.2
- soc2:CC6.3
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- soc2:CC6.1
- hipaa:164.308(a)(5)(ii)(C)
references: [guardduty:Policy:Kubernetes/AnonymousAccessGranted, catalog:anonymous-access-granted]
mitre: [T1098.006, T1078.001]
scope: event
description: >-
  A RoleBinding or ClusterRoleBinding names system:anonymous or the system:unauthenticated group as a subject.
  Anyone who can reach the API server then holds the bound role without any credential.
triage: >-
  `summary` names the role now held by anyone who can reach the API server, `object_name` the binding and
  `user_name` who wrote it. The only usual legitimate cases are made at cluster bootstrap: kubeadm's
  `kubeadm:bootstrap-signer-clusterinfo` Role in kube-public (get on the cluster-info ConfigMap) and the
  built-in `system:public-info-viewer` (health and version endpoints); any other role, above all one with
  write verbs or cluster-admin, is a true positive. Read the binding with `kubectl get clusterrolebinding NAME
  -o yaml` (or `kubectl get rolebinding -n NS NAME -o yaml`) and list what unauthenticated callers did since:
  `kanalytics sql --month YYYY-MM "SELECT request_ts, source_ips, verb, resource, namespace, object_name,
  response_code FROM events WHERE user_name = 'system:anonymous' AND response_code < 400 ORDER BY
  request_ts"`.
remediation: >-
  Delete the binding at once; every anonymous 2xx request after `ts` is then suspect (new pods, bindings,
  Secrets read) and is handled as a compromise, and the writer's rights are withdrawn if the grant was not
  approved. Harden the API server: `--anonymous-auth=false`, or an AuthenticationConfiguration whose anonymous
  conditions allow only /healthz, /livez and /readyz, and reach it only from trusted networks. Reject bindings
  whose subjects are system:anonymous or system:unauthenticated with an admission policy; a bootstrap binding
  you keep goes into `[allowlists.query_lists] anonymous-access-granted` by its name.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} bound role {} to anonymous users ({})', user_name, request_object ->> '$.roleRef.name', coalesce(object_name, request_object ->> '$.metadata.name')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource IN ('rolebindings', 'clusterrolebindings') AND verb IN ('create', 'update', 'patch')
      AND list_has_any(json_extract_string(request_object, '$.subjects[*].name'), [anonymous_user(), unauthenticated_group()])
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

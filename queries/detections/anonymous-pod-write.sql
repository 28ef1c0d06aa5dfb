/* ---
id: anonymous-pod-write
title: Anonymous user created or changed a pod
kind: detection
severity: critical
needs_level: Metadata
area: anonymous
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- soc2:CC6.1
- hipaa:164.308(a)(5)(ii)(C)
references: [elastic:Kubernetes Anonymous User Create/Update/Patch Pods Request, catalog:anonymous-pod-write]
mitre: [T1610]
scope: event
description: >-
  An unauthenticated caller (system:anonymous or the system:unauthenticated group) successfully created,
  replaced or patched a pod. This means anonymous access is both enabled and bound to write rights: anyone who
  can reach the API server can run code in the cluster.
triage: >-
  A successful anonymous pod write has no benign explanation outside a deliberately open lab cluster: confirm
  the `source_ip` (inside your networks, or public), the `user_agent` evidence, and the pod in
  `namespace`/`object_name`. See what the pod runs and where (`kubectl get pod -n NS NAME -o yaml`: image,
  command, privileged, hostPath, nodeName), then everything else that address did: `kanalytics sql --month
  YYYY-MM "SELECT request_ts, user_name, verb, resource, namespace, object_name, response_code FROM events
  WHERE list_contains(source_ips, 'IP') ORDER BY request_ts"`.
remediation: >-
  Delete the pod and anything else created anonymously, block `source_ip` at the network edge, and if the pod
  was privileged or mounted host paths cordon, drain and rebuild the node it ran on. Then remove the grant
  that lets unauthenticated callers write (`kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E
  'system:(anonymous|unauthenticated)'`), disable anonymous authentication and take the API endpoint off
  public networks. Only a lab cluster's namespace belongs in `[allowlists.query_lists] anonymous-pod-write`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('anonymous caller from {} {} pod {}/{}', client_ip(source_ips), verb_past(verb), namespace, coalesce(object_name, request_object ->> '$.metadata.name', '?')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'pods' AND verb IN ('create', 'update', 'patch')
      AND is_anonymous(user_name, user_groups)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

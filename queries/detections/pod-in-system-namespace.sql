/* ---
id: pod-in-system-namespace
title: Pod created directly in a system namespace
kind: detection
severity: medium
needs_level: Metadata
area: privileged-workloads
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.2.1.7
references:
- sigma:Creation Of Pod In System Namespace
- panther:Kubernetes.Pod.SystemNamespace
- splunk:Kubernetes Pod Created in Default Namespace
- datadog:Kubernetes Pod Created in Kube Namespace
- catalog:pod-in-system-namespace
mitre: [T1036.005, T1610]
scope: event
description: >-
  A pod was created directly (not by a controller or as a kubelet mirror pod) in kube-system, kube-public or
  kube-node-lease. Pods there blend in with cluster components and can mount their service accounts; people
  and applications have no reason to start pods there by hand.
triage: >-
  Look at `user_name`, `object_name` and the `user_agent` evidence: a platform engineer's `kubectl run` or
  `kubectl debug` of a network tool while troubleshooting DNS, or a `helm test` pod of an add-on chart
  installed in kube-system, are the usual legitimate cases and should match a ticket. A pod created by an
  application account or by a person outside the platform team, named like a system component, is meant to
  blend in and to borrow kube-system service accounts. Follow-up: `kubectl get pod -n NS NAME -o yaml` (its
  `serviceAccountName`, images, nodeName and absent ownerReferences), and `kanalytics sql --month YYYY-MM
  "SELECT request_ts, verb, subresource, user_name FROM events WHERE namespace = 'NS' AND object_name = 'NAME'
  AND stage = 'ResponseComplete' ORDER BY request_ts"` for what happened to it.
remediation: >-
  If unauthorised, delete the pod, then review the service account it ran as: anything done with that
  account's token from the pod's lifetime on is the attacker's (restart the legitimate pods using it to renew
  their bound tokens). Limit `create` on pods in kube-system, kube-public and kube-node-lease to the platform
  deployer, and enforce with an admission rule that rejects pods there without an owner. For a reviewed
  creator, add the user (or the pod name) to `[allowlists.query_lists] pod-in-system-namespace` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} created pod {} directly in system namespace {}', user_name, coalesce(object_name, request_object ->> '$.metadata.name', '?'), namespace) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'pods' AND verb = 'create' AND coalesce(subresource, '') = '' AND namespace IN ('kube-system', 'kube-public', 'kube-node-lease') AND NOT is_node(user_name) AND NOT is_controller(user_name)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

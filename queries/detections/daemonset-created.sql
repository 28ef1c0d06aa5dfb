/* ---
id: daemonset-created
title: DaemonSet created
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
- panther:Kubernetes.DaemonSet.Created
- panther:GCP.K8s.New.Daemonset.Deployed
- splunk:Kubernetes DaemonSet Deployed
- catalog:daemonset-created
mitre: [T1610, T1543]
pattern: [namespace, object_name]
scope: event
description: >-
  A new DaemonSet was created outside the control plane. A DaemonSet runs a pod on every node, so it is the
  quickest way to get code (and node-level mounts) onto the whole cluster and to keep it there. New DaemonSets
  are rare in a stable cluster, so each one deserves a look.
triage: >-
  `namespace` and `object_name` name the DaemonSet, `user_name` and `user_agent` who created it. Expected: the
  install or upgrade of a node agent (CNI, CSI driver, log shipper, monitoring or security agent) by the Helm
  or Argo CD deployer or a cloud add-on manager, matching a change record; suspicious: a person with kubectl,
  a name that imitates a platform component, an image outside your registries, or a spec with privileged,
  hostPID, hostNetwork or host mounts (`kubectl get daemonset -n NS NAME -o yaml`). See whether the same
  identity raised other findings around it with `kanalytics incidents --month YYYY-MM`.
remediation: >-
  Delete an unauthorised DaemonSet (`kubectl delete daemonset -n NS NAME` removes its pod from every node);
  since it ran everywhere, treat the nodes as exposed when it had host access (cordon, drain, replace) and
  rotate the credentials its pods could reach. Restrict create on daemonsets to the platform deployer and
  enforce Pod Security baseline and trusted registries at admission. A reviewed deployer or agent namespace
  goes into `[allowlists.query_lists] daemonset-created`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} created DaemonSet {}/{}', user_name, namespace, coalesce(object_name, request_object ->> '$.metadata.name', '?')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'daemonsets' AND verb = 'create' AND NOT is_node(user_name) AND NOT is_controller(user_name)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

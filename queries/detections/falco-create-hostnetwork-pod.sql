/* ---
id: falco-create-hostnetwork-pod
title: Pod created in the host network namespace
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Create HostNetwork Pod]
mitre: [T1611]
pattern: [namespace, repositories]
superseded_by: [host-network-pod]
scope: event
suppress_by:
  query_list:
  - repositories
description: >-
  A pod created with spec.hostNetwork true, unless every container image repository is in Falco's
  k8s_audit_hostnetwork_images list.
triage: >-
  A hostNetwork pod uses the node's network stack: it can bind node ports, sniff node traffic and reach the
  metadata endpoint and node-local services, bypassing NetworkPolicy. Expected: CNI agents, kube-proxy, node
  exporters and ingress controllers in host mode, usually pods of a DaemonSet (`user_name` the DaemonSet
  controller) with repositories in the `repositories` evidence you recognise; suspicious: an application
  image, or a pod created directly by a person. Refused creates count too, so confirm it ran: `kanalytics sql
  --month YYYY-MM "SELECT response_code, response_reason FROM events WHERE audit_id = 'AUDIT_ID'"`.
remediation: >-
  Remove `hostNetwork: true` from the owning workload and delete the pod if unapproved; enforce Pod Security
  baseline on application namespaces and exempt only the node agents' namespaces. Approved agent images go
  into `[allowlists.query_lists] falco-create-hostnetwork-pod` by repository; under the default profile
  host-network-pod replaces this rule.
--- */
WITH lists AS (
    SELECT
        [
            'gcr.io/google-containers/prometheus-to-sd', 'gcr.io/projectcalico-org/typha',
            'gcr.io/projectcalico-org/node', 'gke.gcr.io/gke-metadata-server', 'gke.gcr.io/kube-proxy',
            'gke.gcr.io/netd-amd64', 'registry.k8s.io/ip-masq-agent-amd64', 'registry.k8s.io/prometheus-to-sd'
        ] AS builtin_images,
        allowlist_values($query_id) AS user_images
),
candidates AS (
    SELECT * FROM falco_pod_creates
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND request_object->>'$.spec.hostNetwork' = 'true'
)
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created pod {} in {} with hostNetwork ({})', falco_user, falco_object, falco_namespace, array_to_string(images, ', ')) AS summary,
    cluster,
    images,
    repositories
FROM candidates, lists
-- Falco: `not ka.req.pod.containers.image.repository in (list)`: quiet only when EVERY container is trusted.
WHERE NOT (len(repositories) > 0 AND list_has_all(list_concat(lists.builtin_images, lists.user_images), repositories))
ORDER BY ts, audit_id

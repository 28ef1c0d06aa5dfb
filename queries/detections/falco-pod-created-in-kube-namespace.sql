/* ---
id: falco-pod-created-in-kube-namespace
title: Pod created in kube-system or kube-public
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Pod Created in Kube Namespace]
mitre: [T1610]
needs_config: [query_list]
pattern: [namespace, repositories]
scope: event
suppress_by:
  query_list:
  - repositories
description: >-
  A pod created in kube-system or kube-public unless every image repository is in Falco's
  allowed_kube_namespace_image_list or every one is in the user list (allowlists.query_lists). Without a
  request body Falco fires on every such pod create, so this needs Request level.
triage: >-
  The `repositories` evidence lists the pod's image repositories not covered by Falco's list or yours,
  `namespace` says kube-system or kube-public, `user_name` who created it (usually a ReplicaSet or DaemonSet
  controller running an add-on). Most findings are add-ons your distribution runs there (CoreDNS, CNI and CSI
  agents, metrics-server); suspicious: a pod created directly by a person or by an unfamiliar service account,
  or an image outside your registries. The month's kube-system images, to review and build the list from:
  `kanalytics sql --month YYYY-MM "SELECT image, user_name, count(*) AS n FROM (SELECT
  unnest(json_extract_string(request_object, '$.spec.containers[*].image')) AS image, user_name FROM events
  WHERE resource = 'pods' AND verb = 'create' AND namespace IN ('kube-system', 'kube-public')) GROUP BY ALL
  ORDER BY n DESC"`.
remediation: >-
  Delete an unapproved pod and its owning workload and withdraw the creator's rights in kube-system, whose
  service accounts are powerful. Known add-on repositories go into `[allowlists.query_lists]
  falco-pod-created-in-kube-namespace` (every container's repository of a pod must be listed); `kanalytics
  tune` proposes them from a baseline period.
--- */
WITH lists AS (
    SELECT
        [
            'gcr.io/google-containers/prometheus-to-sd', 'gcr.io/projectcalico-org/node',
            'gke.gcr.io/addon-resizer', 'gke.gcr.io/heapster', 'gke.gcr.io/gke-metadata-server',
            'registry.k8s.io/ip-masq-agent-amd64', 'registry.k8s.io/kube-apiserver', 'gke.gcr.io/kube-proxy',
            'gke.gcr.io/netd-amd64', 'gke.gcr.io/watcher-daemonset', 'registry.k8s.io/addon-resizer',
            'registry.k8s.io/prometheus-to-sd', 'registry.k8s.io/k8s-dns-dnsmasq-nanny-amd64',
            'registry.k8s.io/k8s-dns-kube-dns-amd64', 'registry.k8s.io/k8s-dns-sidecar-amd64',
            'registry.k8s.io/metrics-server-amd64', 'kope/kube-apiserver-healthcheck'
        ] AS builtin_images,
        allowlist_values($query_id) AS user_images
),
candidates AS (
    SELECT * FROM falco_pod_creates
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND namespace IN ('kube-system', 'kube-public')
)
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created pod {} in {} ({})', falco_user, falco_object, falco_namespace, array_to_string(images, ', ')) AS summary,
    cluster,
    images,
    repositories
FROM candidates, lists
-- Falco judges each allow-list on its own: every image in the built-in list, or every one in the user list.
WHERE NOT (len(repositories) > 0
     AND (list_has_all(lists.builtin_images, repositories) OR list_has_all(lists.user_images, repositories)))
ORDER BY ts, audit_id

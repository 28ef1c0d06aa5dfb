/* ---
id: falco-create-privileged-pod
title: Privileged pod created
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Create Privileged Pod]
mitre: [T1610, T1611]
pattern: [namespace, repositories]
superseded_by: [privileged-container]
scope: event
suppress_by:
  query_list:
  - repositories
description: >-
  A pod created with a privileged container, init container or ephemeral container, unless every container
  image repository is in Falco's k8s_audit_privileged_images list (extend it with allowlists.query_lists).
triage: >-
  A privileged container is root on its node. The `images` and `repositories` evidence show what runs outside
  Falco's trusted list, `namespace` and `object_name` where, `user_name` who created it (often a DaemonSet or
  ReplicaSet controller: then the owning workload). Expected: CNI, CSI drivers and security agents whose
  registry is not on the list, and `kubectl debug node --profile=sysadmin` by on-call engineers; suspicious:
  application images or a pod created directly by a person. Refused creates count too, so confirm it ran:
  `kanalytics sql --month YYYY-MM "SELECT response_code, response_reason FROM events WHERE audit_id =
  'AUDIT_ID'"`.
remediation: >-
  Delete an unapproved pod and its owning workload, then cordon, drain and inspect or rebuild the node it ran
  on. Enforce Pod Security baseline on application namespaces, exempting only the node agents'. Approved agent
  images go into `[allowlists.query_lists] falco-create-privileged-pod` by repository; under the default
  profile privileged-container replaces this rule.
--- */
WITH lists AS (
    SELECT
        [
            'falcosecurity/falco', 'docker.io/falcosecurity/falco', 'public.ecr.aws/falcosecurity/falco',
            'docker.io/calico/node', 'calico/node', 'docker.io/cloudnativelabs/kube-router',
            'docker.io/docker/ucp-agent', 'docker.io/mesosphere/mesos-slave', 'docker.io/rook/toolbox',
            'docker.io/sysdig/sysdig', 'gcr.io/google_containers/kube-proxy',
            'gcr.io/google-containers/startup-script', 'gcr.io/projectcalico-org/node', 'gke.gcr.io/kube-proxy',
            'gke.gcr.io/gke-metadata-server', 'gke.gcr.io/netd-amd64', 'gke.gcr.io/watcher-daemonset',
            'gcr.io/google-containers/prometheus-to-sd', 'registry.k8s.io/ip-masq-agent-amd64',
            'registry.k8s.io/kube-proxy', 'registry.k8s.io/prometheus-to-sd', 'quay.io/calico/node',
            'sysdig/sysdig', 'registry.k8s.io/dns/k8s-dns-node-cache',
            'mcr.microsoft.com/oss/kubernetes/kube-proxy'
        ] AS builtin_images,
        allowlist_values($query_id) AS user_images
),
candidates AS (
    SELECT * FROM falco_pod_creates
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND (list_contains(json_extract_string(request_object, '$.spec.containers[*].securityContext.privileged'), 'true')
            OR list_contains(json_extract_string(request_object, '$.spec.initContainers[*].securityContext.privileged'), 'true')
            OR list_contains(json_extract_string(request_object, '$.spec.ephemeralContainers[*].securityContext.privileged'), 'true'))
)
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created privileged pod {} in {} ({})', falco_user, falco_object, falco_namespace, array_to_string(images, ', ')) AS summary,
    cluster,
    images,
    repositories
FROM candidates, lists
-- Falco: `not ka.req.pod.containers.image.repository in (list)`: quiet only when EVERY container is trusted.
WHERE NOT (len(repositories) > 0 AND list_has_all(list_concat(lists.builtin_images, lists.user_images), repositories))
ORDER BY ts, audit_id

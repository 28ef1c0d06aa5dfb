/* ---
id: falco-create-sensitive-mount-pod
title: Pod created with a sensitive host path mounted
kind: detection
severity: medium
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Create Sensitive Mount Pod]
mitre: [T1611]
pattern: [namespace, repositories]
superseded_by: [hostpath-mount]
scope: event
suppress_by:
  query_list:
  - repositories
description: >-
  A pod created with a hostPath volume whose path is exactly one of Falco's sensitive paths (/proc, the
  container runtime sockets, /, /etc, /root, kubelet and Kubernetes config folders), unless every image is
  trusted.
triage: >-
  `summary` lists the pod's host paths: the container runtime socket, /, /etc, /root or kubelet state give
  control of the node, /proc its processes. Expected: node agents (log shippers, monitoring, security) whose
  `repositories` evidence you recognise, usually from a DaemonSet controller; suspicious: application images,
  docker-in-docker builds mounting the runtime socket, or a pod created by a person. Check whether the mounts
  are read-only in the owning workload and confirm the create was admitted: `kanalytics sql --month YYYY-MM
  "SELECT response_code, response_reason FROM events WHERE audit_id = 'AUDIT_ID'"`.
remediation: >-
  Delete an unapproved pod and its owner; a writable runtime socket or root mount means the node may be
  compromised, so cordon, drain and rebuild it. Enforce Pod Security baseline (no hostPath volumes) on
  application namespaces and build images without the runtime socket (kaniko, BuildKit rootless). Approved
  agent images go into `[allowlists.query_lists] falco-create-sensitive-mount-pod` by repository; under the
  default profile hostpath-mount replaces this rule.
--- */
WITH lists AS (
    SELECT
        [
            'falcosecurity/falco', 'docker.io/falcosecurity/falco', 'public.ecr.aws/falcosecurity/falco',
            'docker.io/sysdig/sysdig', 'sysdig/sysdig', 'gcr.io/google_containers/hyperkube',
            'gcr.io/google_containers/kube-proxy', 'docker.io/calico/node', 'docker.io/rook/toolbox',
            'docker.io/cloudnativelabs/kube-router', 'docker.io/consul', 'docker.io/datadog/docker-dd-agent',
            'docker.io/datadog/agent', 'docker.io/docker/ucp-agent', 'docker.io/gliderlabs/logspout',
            'docker.io/netdata/netdata', 'docker.io/google/cadvisor', 'docker.io/prom/node-exporter',
            'amazon/amazon-ecs-agent', 'prom/node-exporter', 'amazon/cloudwatch-agent'
        ] AS builtin_images,
        allowlist_values($query_id) AS user_images
),
candidates AS (
    SELECT * FROM falco_pod_creates
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND list_has_any(json_extract_string(request_object, '$.spec.volumes[*].hostPath.path'),
            ['/proc', '/var/run/docker.sock', '/', '/etc', '/root', '/var/run/crio/crio.sock', '/run/containerd/containerd.sock',
             '/home/admin', '/var/lib/kubelet', '/var/lib/kubelet/pki', '/etc/kubernetes', '/etc/kubernetes/manifests'])
)
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created pod {} in {} mounting host path(s) {}', falco_user, falco_object, falco_namespace, array_to_string(json_extract_string(request_object, '$.spec.volumes[*].hostPath.path'), ', ')) AS summary,
    cluster,
    images,
    repositories
FROM candidates, lists
-- Falco: `not ka.req.pod.containers.image.repository in (list)`: quiet only when EVERY container is trusted.
WHERE NOT (len(repositories) > 0 AND list_has_all(list_concat(lists.builtin_images, lists.user_images), repositories))
ORDER BY ts, audit_id

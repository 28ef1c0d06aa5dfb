/* ---
id: coredns-config-modified
title: Cluster DNS configuration changed
kind: detection
severity: high
needs_level: Metadata
area: configuration
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.2.1.7
references: [elastic:Kubernetes CoreDNS or Kube-DNS Configuration Modified, catalog:coredns-config-modified]
mitre: [T1565.001]
scope: event
description: >-
  The coredns, coredns-custom or kube-dns ConfigMap in kube-system was replaced, patched or deleted by someone
  other than the control plane. Whoever controls cluster DNS can redirect service names (including the API
  server and registries) to hosts of their choosing.
triage: >-
  `object_name` is the DNS ConfigMap and `verb` whether it was changed or deleted; the cloud add-on managers
  and kube-system service accounts are already left out. Expected: a platform engineer or pipeline adding a
  stub domain or forwarder (Helm or Terraform in `user_agent`) under a change record; suspicious: `rewrite`,
  `hosts` or `forward` entries that send kubernetes.default, a registry or an external API name to an
  unfamiliar address, or a delete. Diff the Corefile with source control (`kubectl get configmap -n
  kube-system NAME -o yaml`) and, when bodies are logged, see each change: `kanalytics sql --month YYYY-MM
  "SELECT request_ts, user_name, verb, request_object FROM events WHERE namespace = 'kube-system' AND
  object_name = 'NAME' AND verb IN ('update', 'patch', 'delete')"`.
remediation: >-
  Restore the Corefile from source control and `kubectl rollout restart deployment coredns -n kube-system` so
  every replica serves it; then review what could have been redirected in the window (image pulls, calls
  between services) and rotate credentials that were sent to redirected names. Keep CoreDNS configuration in
  GitOps and restrict update, patch and delete on configmaps in kube-system to the platform deployer. The
  deployer's identity goes into `[allowlists.query_lists] coredns-config-modified`, with the reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} the cluster DNS ConfigMap {}', user_name, verb_past(verb), object_name) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'configmaps' AND namespace = 'kube-system' AND object_name IN ('coredns', 'coredns-custom', 'kube-dns')
      AND verb IN ('update', 'patch', 'delete')
      AND NOT is_platform_identity(user_name)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

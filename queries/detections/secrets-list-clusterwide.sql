/* ---
id: secrets-list-clusterwide
title: Secrets listed across the cluster or in a system namespace
kind: detection
severity: high
needs_level: Metadata
area: secrets
controls:
- pci-dss-4.0:10.2.1.1
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.4.1
- pci-dss-4.0:10.4.2
- hipaa:164.308(a)(1)(ii)(D)
references:
- elastic:Kubernetes Secrets List Across Cluster or Sensitive Namespaces
- panther:Kubernetes.Secrets.DumpAllNamespaces
- sigma:Kubernetes Secrets Enumeration
- catalog:secrets-list-clusterwide
mitre: [T1552.007, T1613]
scope: event
description: >-
  A list of Secrets across all namespaces (/api/v1/secrets), or of every Secret in kube-system or default,
  that succeeded, from a principal other than the control-plane components and not from loopback. One such
  call returns every credential the caller can read (service-account tokens, registry and TLS keys): the
  typical dump step after a token is stolen. Watches are not reported: ingress and certificate controllers
  keep cluster-wide Secret watches open and re-open them every few minutes; their initial list is still
  reported once per restart. Operators that legitimately list all Secrets belong in allow_automation_users.
triage: >-
  Look at `user_name`, `source_ip` and the `user_agent` evidence: an ingress or certificate controller's
  initial list after a restart, or a backup tool, from its in-cluster account is expected; an administrator
  running `kubectl get secrets -A` needs a reason, and a service account listing from outside the pod network
  or with kubectl is a dump with a stolen token. Follow-up: `kanalytics sql --month YYYY-MM "SELECT
  request_ts, verb, resource, namespace, object_name, user_agent FROM events WHERE user_name = 'USER' AND
  request_ts BETWEEN TIMESTAMPTZ 'TS' - INTERVAL 1 HOUR AND TIMESTAMPTZ 'TS' + INTERVAL 1 HOUR AND stage =
  'ResponseComplete' ORDER BY request_ts"` shows what came before and after, and `kubectl auth can-i list
  secrets -A --as USER` whether the right is standing.
remediation: >-
  A list returns every Secret's data: if unauthorised, rotate all Secrets in scope (every namespace, or
  kube-system and default), service-account tokens and cloud credentials first, and revoke the identity's
  credential. Remove cluster-wide `list` and `watch` on secrets from every role that does not strictly need
  it. For a reviewed operator, add its account to `[[allowlists.automation_users]]` or
  `[allowlists.query_lists] secrets-list-clusterwide` with a reason.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} secrets {} from {}', user_name, 'listed', CASE WHEN coalesce(namespace, '') = '' THEN 'across all namespaces' ELSE 'in namespace ' || namespace END, coalesce(client_ip(source_ips), '?')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'secrets' AND verb = 'list'
      AND (coalesce(namespace, '') = '' OR namespace IN ('kube-system', 'default'))
      AND coalesce(ip_scope(client_ip(source_ips)), '') <> 'loopback'
      AND NOT is_platform_identity(user_name)
  AND user_name NOT IN (SELECT value FROM allow_automation_users)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

/* ---
id: aws-auth-modified
title: EKS aws-auth ConfigMap changed
kind: detection
severity: high
needs_level: Metadata
area: rbac
controls:
- pci-dss-4.0:10.2.1.5
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.2
- soc2:CC6.3
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.2.1.7
references: [elastic:EKS Authentication Configuration Modified, catalog:aws-auth-modified]
mitre: [T1098.006]
scope: event
description: >-
  The kube-system/aws-auth ConfigMap was replaced, patched or deleted. On EKS it maps AWS IAM roles and users
  to Kubernetes users and groups (often system:masters), so editing it is how AWS identities get
  cluster-admin.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} the aws-auth ConfigMap (IAM to Kubernetes identity mapping)', user_name, verb_past(verb)) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'configmaps' AND namespace = 'kube-system' AND object_name = 'aws-auth'
      AND verb IN ('update', 'patch', 'delete')
      AND user_name NOT IN ('eks:kms-storage-migrator')
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

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
triage: >-
  Look at `user_name` (an IAM-mapped identity), `user_agent` and `source_ip`: changes from eksctl, Terraform
  or the pipeline's runner when node groups or roles are added are the normal path; an edit by a person with
  kubectl, by a pod's service account, or a delete, is not. Compare the live mapping with the copy in
  infrastructure code (`kubectl get configmap aws-auth -n kube-system -o yaml`), looking for new mapRoles or
  mapUsers entries, above all ones mapped to system:masters; when the policy logs bodies, see each change:
  `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb, request_object FROM events WHERE
  namespace = 'kube-system' AND object_name = 'aws-auth' AND verb IN ('update', 'patch', 'delete')"`.
  CloudTrail shows which IAM principal was behind `user_name`.
remediation: >-
  Restore the ConfigMap from infrastructure code, removing the unexpected mappings, and in AWS disable or
  restrict the IAM role or user that was mapped and the principal that made the change (their sessions and
  keys). Move the cluster to EKS access entries (authentication mode API) so that identity mappings change
  through IAM with CloudTrail, and restrict update, patch and delete on configmaps in kube-system to the
  platform pipeline. That pipeline's identity goes into `[allowlists.query_lists] aws-auth-modified` (this
  query reads only its own list), with the reason.
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

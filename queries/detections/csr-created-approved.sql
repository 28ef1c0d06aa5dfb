/* ---
id: csr-created-approved
title: Certificate signing request created or approved by a person or workload
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
references:
- elastic:Kubernetes Client Certificate Signing Request Created or Approved
- panther:Kubernetes.ClientCertificate.Created
- catalog:csr-created-approved
mitre: [T1098.006]
scope: event
description: >-
  A CertificateSigningRequest was created, or approved, by a principal other than nodes, bootstrap tokens and
  the control plane. A signed client certificate is a long-lived credential that cannot be revoked short of
  rotating the cluster CA, so minting one by hand is a persistence technique. A request whose user or groups
  the log does not carry is reported (nothing shows it came from a node or the control plane).
triage: >-
  `summary` says whether the request was created or approved, `object_name` is the CSR, `user_name` who did
  it. Expected: an operator's service account outside kube-system issuing certificates through its own signer
  (service meshes, kubelet-serving approvers) with the same name every time; suspicious: a person or an
  application pod creating a `kubernetes.io/kube-apiserver-client` request, above all for a privileged user or
  the system:masters group, and approving it themselves. CSRs are garbage-collected within hours, so read the
  request from the archive (`spec.signerName`, `spec.username`, and the subject from `spec.request` with
  `openssl req -noout -subject`): `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb,
  subresource, request_object FROM events WHERE resource = 'certificatesigningrequests' AND
  coalesce(object_name, request_object ->> '$.metadata.name') = 'NAME'"`.
remediation: >-
  A signed client certificate cannot be revoked: remove every binding that grants rights to its user and
  groups, and when it carries system:masters (which no binding can take away) plan a rotation of the cluster
  CA. Withdraw create and approve rights on certificatesigningrequests and the `approve` verb on signers from
  the identity that did it, and keep approval to the control plane and named operators. A reviewed operator
  goes into `[allowlists.query_lists] csr-created-approved` by its user_name.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} certificate signing request {}', coalesce(user_name, '(unknown user)'), CASE WHEN subresource = 'approval' THEN 'approved' ELSE 'created' END, coalesce(object_name, request_object ->> '$.metadata.name', request_object ->> '$.metadata.generateName', '?')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'certificatesigningrequests'
      AND (verb = 'create' OR (verb IN ('update', 'patch') AND subresource = 'approval'))
      -- NULL-safe: a missing user or group list must not make the whole condition NULL (row dropped)
      AND NOT coalesce(is_bootstrap_token(user_name, user_groups) OR is_platform_identity(user_name), false)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

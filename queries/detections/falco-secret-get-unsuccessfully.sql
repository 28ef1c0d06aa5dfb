/* ---
id: falco-secret-get-unsuccessfully
title: Secret read refused or failed
kind: detection
severity: medium
needs_level: Metadata
area: failed-access
controls: [pci-dss-4.0:10.2.1.4, nist-800-53-r5:AU-6, hipaa:164.308(a)(5)(ii)(C)]
references: [falco:K8s Secret Get Unsuccessfully Tried]
mitre: [T1552.007]
tags: [falco-activity]
scope: event
description: >-
  A get of a secret whose response code is not 2xx (or is absent): denied or failed attempts to read a secret.
triage: >-
  Start with the `response_code` evidence: 404 is usually a controller or Helm checking whether a Secret
  exists before creating it, 403 is an RBAC refusal and matters more, and no code means the request never
  completed. Then read `user_name` against `namespace` and `object_name`: an application's own service account
  asking for a Secret of its own namespace right after a deploy is a misconfiguration, one identity asking for
  Secrets of kube-system or of other teams is hunting for credentials. Follow-up: `kanalytics sql --month
  YYYY-MM "SELECT namespace, object_name, response_code, count(*) AS n FROM events WHERE user_name = 'USER'
  AND resource = 'secrets' AND stage = 'ResponseComplete' GROUP BY ALL ORDER BY n DESC"` tells one miss from a
  sweep, and shows which reads succeeded.
remediation: >-
  If it was probing, treat the credential as stolen: for a service account delete the pods that run as it
  (their bound tokens die with them) and any legacy token Secret, for a person remove their bindings and
  revoke the login at the identity provider; then review what the same identity did read (secrets-bulk-get,
  secrets-unusual-accessor). If an application is misconfigured, fix the name it asks for or grant `get` on
  exactly that Secret (`resourceNames` in a Role). The query has no allow-list: record a benign miss with
  `kanalytics triage set FINDING_ID --verdict benign --note ... --by ...`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} failed to read secret {} in {} (HTTP {})', falco_user, falco_object, falco_namespace, coalesce(CAST(response_code AS VARCHAR), 'none')) AS summary,
    cluster,
    response_code
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'secrets' AND verb = 'get' AND NOT coalesce(succeeded, false)
ORDER BY ts, audit_id

/* ---
id: falco-ingress-without-tls-created
title: Ingress created without TLS
kind: detection
severity: medium
needs_level: Request
area: network
controls: [nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Ingress Object without TLS Certificate Created]
mitre: [T1557]
tags: [falco-activity]
scope: event
description: >-
  A successful ingress create whose request body has no spec.tls. Without a body Falco fires on every ingress
  create, so this needs Request level.
triage: >-
  `namespace` and `object_name` name the Ingress, `user_name` who created it. Many are fine: TLS terminated at
  a cloud load balancer (for example an `alb.ingress.kubernetes.io/certificate-arn` annotation), an
  internal-only ingress class, or cert-manager's temporary `cm-acme-http-solver-*` ingresses for HTTP-01
  challenges; a public host serving logins or APIs over plain HTTP is the finding. Check the class, hosts and
  annotations with `kubectl get ingress -n NS NAME -o yaml`.
remediation: >-
  Add `spec.tls` with a certificate (a cert-manager Certificate or the ingress-shim annotation) and redirect
  HTTP to HTTPS, or move TLS termination to the load balancer explicitly. Require `spec.tls` on public ingress
  classes at admission. This Falco rule has no allow-list: record reviewed ingresses with `kanalytics triage
  set FINDING_ID --verdict benign --note ... --by YOU`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created ingress {} in {} without TLS', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'ingresses' AND verb = 'create' AND succeeded AND NOT coalesce(json_exists(request_object, '$.spec.tls'), false)
ORDER BY ts, audit_id

/* ---
id: admission-webhook-change
title: Admission webhook configuration created, changed or deleted
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
- soc2:CC6.1
references:
- elastic:Kubernetes Admission Webhook Created or Modified
- sigma:Kubernetes Admission Controller Modification
- sigma:Google Cloud Kubernetes Admission Controller
- panther:Kubernetes.AdmissionController.Created
- datadog:A new Kubernetes admission controller was created
- catalog:admission-webhook-change
mitre: [T1546, T1562, T1552.007]
scope: event
description: >-
  A MutatingWebhookConfiguration or ValidatingWebhookConfiguration was created or deleted by a principal other
  than the control plane, or replaced or patched by a person. A mutating webhook sees (and can rewrite) every
  matching object, including Secrets and pod specs, so it is a strong persistence and credential-theft
  mechanism; deleting a validating webhook switches off a policy engine. Updates made by service accounts are
  not reported, because operators such as cert-manager's CA injector rewrite their webhooks' caBundle all the
  time. Operators that create their own webhooks can be listed in allow_automation_users.
triage: >-
  `object_name` is the webhook configuration, `resource` whether it is mutating or validating and `verb`
  whether it was created, changed or deleted. Expected: an install or upgrade of the operator that owns it
  (cert-manager, Kyverno, Gatekeeper, Istio, a cloud add-on) by the Helm or Argo CD deployer, with a matching
  `user_agent` in a change window; suspicious: a person creating a mutating webhook that points at an unknown
  Service or an external URL, or anyone deleting a policy engine's validating webhook. Read what it intercepts
  and where it sends it with `kubectl get mutatingwebhookconfiguration NAME -o yaml`
  (`webhooks[].clientConfig`, `rules`, `failurePolicy`), and list every webhook change of the month with
  `kanalytics sql --month YYYY-MM "SELECT request_ts, user_name, verb, resource, object_name, user_agent FROM
  events WHERE resource LIKE '%webhookconfigurations' AND verb NOT IN ('get', 'list', 'watch')"`.
remediation: >-
  Delete a rogue webhook configuration and the Service or pod behind its clientConfig, or restore a deleted
  one from Git or its Helm release; a mutating webhook saw every matching object while it existed, so rotate
  the Secrets written and review the pod specs admitted between `ts` and its removal. Restrict create, update
  and delete on mutatingwebhookconfigurations and validatingwebhookconfigurations to the platform deployer,
  and log them at RequestResponse so the next change shows its target. An operator or pipeline that manages
  its own webhooks goes into `[[allowlists.automation_users]]`, or one webhook or user into
  `[allowlists.query_lists] admission-webhook-change`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} {} {}', user_name, verb_past(verb), CASE resource WHEN 'mutatingwebhookconfigurations' THEN 'mutating admission webhook' ELSE 'validating admission webhook' END, coalesce(object_name, request_object ->> '$.metadata.name', '(collection)')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource IN ('mutatingwebhookconfigurations', 'validatingwebhookconfigurations')
      AND (verb IN ('create', 'delete', 'deletecollection')
           OR (verb IN ('update', 'patch') AND NOT is_service_account(user_name)))
      AND NOT is_platform_identity(user_name)
  AND user_name NOT IN (SELECT value FROM allow_automation_users)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

/* ---
id: cronjob-job-change
title: CronJob created, changed or deleted, or Job started by hand
kind: detection
severity: low
needs_level: Metadata
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.2, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16, hipaa:164.312(b)]
references:
- sigma:Kubernetes CronJob/Job Modification
- sigma:Google Cloud Kubernetes CronJob
- panther:Kubernetes.CronJob.CreatedOrModified
- panther:GCP.GKE.Kubernetes.Cron.Job.Created.Or.Modified
- splunk:Kubernetes Cron Job Creation
- catalog:cronjob-job-change
mitre: [T1053.007]
scope: event
description: >-
  A CronJob was created, replaced, patched or deleted, or a Job was created, by someone other than the control
  plane (the CronJob controller's own Jobs are not reported). Scheduled jobs are a persistence mechanism that
  survives pod restarts. Deployment pipelines that roll out CronJobs belong in allow_automation_users so only
  changes made by people remain.
triage: >-
  `resource` says CronJob or Job, `verb` what happened, `namespace` and `object_name` which one, `user_name`
  and `user_agent` who did it. Expected: a release pipeline (which belongs in automation_users) or a person
  re-running a schedule by hand with `kubectl create job --from=cronjob/NAME` (a Job named after the CronJob,
  kubectl user agent); suspicious: a CronJob in kube-system or a quiet namespace, an image from outside your
  registries, a schedule of every minute, or a command that downloads and runs a script. Inspect it with
  `kubectl get cronjob -n NS NAME -o yaml` and list the identity's other writes: `kanalytics sql --month
  YYYY-MM "SELECT request_ts, verb, resource, namespace, object_name FROM events WHERE user_name = 'USER' AND
  verb IN ('create', 'update', 'patch', 'delete') ORDER BY request_ts"`.
remediation: >-
  Delete an unauthorised CronJob (`kubectl delete cronjob -n NS NAME` removes its Jobs and pods too) or Job,
  block where its command reached out to, and look for the credential that created it. Restrict create on
  cronjobs and jobs to the release pipeline and the teams that own batch work, and require trusted registries
  at admission. The pipeline's identity goes into `[[allowlists.automation_users]]`; a batch namespace whose
  jobs people run by hand goes into `[allowlists.query_lists] cronjob-job-change`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} {} {}/{}', user_name, verb_past(verb), CASE resource WHEN 'cronjobs' THEN 'CronJob' ELSE 'Job' END, namespace, coalesce(object_name, request_object ->> '$.metadata.name', '?')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND (
          (resource = 'cronjobs' AND verb IN ('create', 'update', 'patch', 'delete'))
          OR (resource = 'jobs' AND verb = 'create'))
      AND coalesce(subresource, '') = ''
      AND NOT is_platform_identity(user_name)
  AND user_name NOT IN (SELECT value FROM allow_automation_users)
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

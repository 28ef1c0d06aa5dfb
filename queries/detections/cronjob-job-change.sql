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

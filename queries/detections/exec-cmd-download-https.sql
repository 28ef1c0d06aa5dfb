/* ---
id: exec-cmd-download-https
title: Exec command downloads from an external URL
kind: detection
severity: medium
needs_level: Metadata
area: exec
controls:
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
- pci-dss-4.0:10.2.1.1
- soc2:CC6.1
references: [elastic:Kubernetes Pod Exec with Curl or Wget to HTTPS, catalog:exec-cmd-download-https]
mitre: [T1609, T1105]
description: >-
  An exec session that runs curl or wget against an http(s) URL other than the cluster's own services,
  localhost or health endpoints: a common way to bring attack tools into a running container. Health checks
  and in-cluster calls (*.svc, *.cluster.local, localhost) are ignored.
triage: >-
  The `command` evidence shows the URL: packages from a known mirror or your artifact store during debugging
  are the usual benign case; a raw script or binary from a paste site, a GitHub release of a tool (kubectl,
  peirates), a bare IP address, or output piped into sh is a true positive. Weigh `user_name` and the pod in
  `namespace`/`object_name`, then read the whole session: `kanalytics sql --month YYYY-MM "SELECT DISTINCT
  request_ts, user_name, request_uri FROM events WHERE namespace = 'NS' AND object_name = 'NAME' AND
  subresource = 'exec' ORDER BY request_ts"`.
remediation: >-
  Delete the pod so it is recreated from its image (downloads live only in the container's writable layer),
  block the destination at egress, and look for the tool's use in other findings. Remove curl and wget from
  production images (distroless), mount the root filesystem read-only, send egress through a proxy or
  NetworkPolicy allow-list, and limit pods/exec. A namespace or identity that fetches from the internet by
  design goes into `[allowlists.query_lists] exec-cmd-download-https`.
--- */
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} ran "{}" in pod {}/{} (download into the container)', user_name, command, namespace, object_name) AS summary,
    user_agent, response_code,
    command
FROM pod_exec_sessions e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND subresource = 'exec'
  AND regexp_matches(command, '\b(curl|wget)\b.*https?://')
  AND NOT regexp_matches(command, 'https?://(localhost|127\.0\.0\.1|\[::1\]|kubernetes\.default|[^ /:]*\.svc|[^ /:]*\.cluster\.local)([:/ ]|$)')
  AND NOT allowlisted($query_id, [e.user_name, e.namespace, e.object_name])
ORDER BY ts

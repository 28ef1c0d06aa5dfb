/* ---
id: pod_exec_sessions
description: >-
  Exec and attach requests into pods that the API server accepted (101 upgrade or 2xx), both stages
  (ResponseStarted and ResponseComplete), with the command line decoded from the request URI's `command=`
  parameters as `command` (empty for attach). One session has one row per stage: a query keeps one row per
  audit_id itself, after its own filters (`QUALIFY row_number() OVER (PARTITION BY cluster, audit_id ORDER BY
  stage_ts) = 1`).
--- */
SELECT *,
    url_decode(array_to_string(regexp_extract_all(request_uri, '[?&]command=([^&]*)', 1), ' ')) AS command
FROM events
WHERE stage IN ('ResponseStarted', 'ResponseComplete')
  AND (response_code = 101 OR response_code BETWEEN 200 AND 299)
  AND resource = 'pods' AND subresource IN ('exec', 'attach') AND verb IN ('create', 'get')

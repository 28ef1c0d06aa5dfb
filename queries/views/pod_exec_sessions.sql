/* ---
id: pod_exec_sessions
description: >-
  Exec and attach requests into pods that the API server accepted (stream_accepted: 101 or 2xx), one row per
  request whatever stages the audit policy logs: the ResponseComplete event when there is one (final status;
  its stage_ts is when the session ended), else the ResponseStarted one, so a policy that omits
  ResponseStarted (or RequestReceived) loses nothing and one that keeps all three counts the session once. A
  request is its auditID together with its receipt time, user and URI: clients choose the auditID, so a second
  request reusing one stays a row of its own (integrity-audit-id-conflict reports the reuse). Adds the command
  line decoded from the URI's `command=` parameters as `command` (empty for attach), the URI's `container`
  (NULL when not named) and `interactive` (stdin or a TTY was requested: a shell, not a one-off command).
--- */
SELECT *,
    url_decode(array_to_string(regexp_extract_all(request_uri, '[?&]command=([^&]*)', 1), ' ')) AS command,
    nullif(url_decode(regexp_extract(request_uri, '[?&]container=([^&]*)', 1)), '') AS container,
    regexp_matches(request_uri, '[?&](stdin|tty)=(true|1)(&|$)') AS interactive
FROM events
WHERE stage IN ('ResponseStarted', 'ResponseComplete')
  AND stream_accepted(response_code)
  AND resource = 'pods' AND subresource IN ('exec', 'attach') AND verb IN ('create', 'get')
QUALIFY row_number() OVER (
    PARTITION BY cluster, audit_id, request_ts, user_name, request_uri
    ORDER BY stage = 'ResponseComplete' DESC, stage_ts DESC, event_hash) = 1

/* ---
id: stream_accepted
parameters: [response_code]
description: >-
  Whether the API server accepted a streaming pod request (exec, attach, port-forward): 101 Switching
  Protocols (the stream was opened, logged at ResponseStarted and again at ResponseComplete) or any 2xx. A 403
  or 401 is a denied attempt, reported by the failed-access queries, not a session; NULL without a code.
--- */
response_code = 101 OR response_code BETWEEN 200 AND 299

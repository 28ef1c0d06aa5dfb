/* ---
id: falco-secret-get-successfully
title: Secret read
kind: detection
severity: info
needs_level: Metadata
area: secrets
controls: [pci-dss-4.0:10.2.1.1, nist-800-53-r5:AU-6, soc2:CC6.1, hipaa:164.312(b)]
references: [falco:K8s Secret Get Successfully]
mitre: [T1552.007]
tags: [falco-activity]
scope: event
description: >-
  Any successful get of a Secret, with no user or namespace filter: Falco's rule as written (its tests assert
  these counts, so the query keeps them). Expect volume: every workload that reads its own Secrets through the
  API (cert-manager, ingress controllers, Argo CD, operators, CI deployers), every controller and every
  person's `kubectl get secret` is one finding, a few thousand a month on a small cluster. Falco rates it
  ERROR; kanalytics reports it at info as an inventory of Secret reads and leaves judgement to the secret
  queries (secrets-unusual-accessor for new readers, secrets-bulk-get, secrets-list-clusterwide,
  secrets-denied-burst). Known readers can be suppressed, with a reason, through allow_query_list (the user or
  the namespace); the runner records every suppression, and with no entries the query returns exactly Falco's
  rows.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} read secret {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'secrets' AND verb = 'get' AND succeeded
  AND NOT allowlisted($query_id, [e.user_name, e.namespace])
ORDER BY ts, audit_id

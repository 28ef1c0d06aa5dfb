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

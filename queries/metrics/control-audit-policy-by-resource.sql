/* ---
id: control-audit-policy-by-resource
title: What the audit policy records, per resource
kind: metric
needs_level: Metadata
area: coverage
controls:
- nist-800-53-r5:AU-2
- nist-800-53-r5:AU-3(1)
- nist-800-53-r5:AU-12
- cis-k8s:3.2.2
- pci-dss-4.0:10.2.1
references: [catalog:M3]
description: >-
  For each resource (and subresource) seen in the period: the audit levels it was recorded at, how many events
  carried a request or response body, and the verbs seen. This is the evidence of which event types the policy
  selects (AU-2) and where the additional detail of bodies is present (AU-3(1)); Secrets and ConfigMaps should
  appear at Metadata only (CIS 3.2.2), while RBAC and pod writes need Request or RequestResponse for the
  body-based detections.
--- */
SELECT
    coalesce(resource || coalesce('/' || nullif(subresource, ''), ''), '(non-resource URL)') AS resource,
    list_sort(list_distinct(list(level))) AS levels,
    count(*) AS events,
    count(*) FILTER (WHERE request_object IS NOT NULL) AS with_request_body,
    count(*) FILTER (WHERE response_object IS NOT NULL) AS with_response_body,
    list_sort(list_distinct(list(verb))) AS verbs
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
GROUP BY 1
ORDER BY events DESC

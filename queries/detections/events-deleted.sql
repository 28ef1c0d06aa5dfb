/* ---
id: events-deleted
title: Kubernetes Event objects deleted
kind: detection
severity: medium
needs_level: Metadata
area: configuration
controls: ['pci-dss-4.0:10.2.1.2', 'nist-800-53-r5:AU-6', 'soc2:CC7.2', 'iso-27001-2022:A.8.16', 'hipaa:164.312(b)', 'pci-dss-4.0:10.3.2', 'nist-800-53-r5:AU-9']
references: ['elastic:Kubernetes Events Deleted', 'sigma:Kubernetes Events Deleted', 'catalog:events-deleted']
mitre: [T1070]
description: >-
  Kubernetes Event objects (the cluster's own record of scheduling, image pulls, kills and failures) were
  deleted by a principal other than the control plane. Events expire on their own after an hour, so deleting
  them by hand is unusual and typically hides traces of an intrusion (indicator removal).
--- */
SELECT
    request_ts AS ts, audit_id, user_name, source_ips[1] AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} Kubernetes events {} in namespace {}', user_name, CASE verb WHEN 'create' THEN 'created' WHEN 'update' THEN 'replaced' WHEN 'patch' THEN 'patched' WHEN 'delete' THEN 'deleted' WHEN 'deletecollection' THEN 'deleted all' ELSE verb END, coalesce(object_name, '(collection)'), coalesce(namespace, '(all)')) AS summary,
    user_agent, response_code
FROM events e
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete'
  AND response_code BETWEEN 200 AND 299
  AND resource = 'events' AND verb IN ('delete', 'deletecollection')
      AND user_name NOT LIKE 'system:node:%'
      AND user_name NOT LIKE 'system:kube-%'
      AND user_name NOT LIKE 'system:serviceaccount:kube-system:%'
      AND user_name NOT IN ('system:apiserver', 'system:addon-manager', 'system:volume-scheduler')
      AND user_name NOT LIKE 'eks:%' AND user_name NOT LIKE 'aksService%'
  AND NOT EXISTS (SELECT 1 FROM allow_query_list l
                WHERE l.query_id = 'events-deleted' AND l.value IN (e.user_name, e.namespace, e.object_name))
ORDER BY ts

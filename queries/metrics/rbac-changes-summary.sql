/* ---
id: rbac-changes-summary
title: RBAC and permission changes
kind: metric
needs_level: Metadata
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.15]
references: [catalog:M6]
description: >-
  Successful writes to roles, cluster roles and their bindings, and to service accounts and their tokens, by
  resource and verb, with who made them.
--- */
SELECT
    resource,
    verb,
    count(*) AS events,
    count(DISTINCT user_name) AS identities,
    string_agg(DISTINCT user_name, ', ' ORDER BY user_name) AS who
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
    AND verb IN ('create', 'update', 'patch', 'delete', 'deletecollection', 'escalate', 'bind')
    AND (resource IN ('roles', 'clusterroles', 'rolebindings', 'clusterrolebindings', 'serviceaccounts',
            'certificatesigningrequests')
        OR (resource = 'serviceaccounts' AND subresource = 'token'))
    AND coalesce(response_code, 0) < 400
GROUP BY ALL
ORDER BY events DESC, resource, verb

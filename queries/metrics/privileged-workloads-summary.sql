/* ---
id: privileged-workloads-summary
title: Workloads created or changed with host access or privileges
kind: metric
needs_level: Request
area: privileged-workloads
controls: [pci-dss-4.0:10.2.1.2, soc2:CC6.1]
references: [catalog:M5]
description: >-
  Successful pod and workload writes whose request body asks for a privileged container, the host network, PID
  or IPC namespace, or a hostPath volume, by setting. Needs request bodies (Request level or higher).
spark: >-
  counts a json_extract wildcard match with json_array_length; on Spark the match is an array, not JSON text
--- */
WITH writes AS (
    SELECT
        resource,
        user_name,
        coalesce(request_object->'$.spec.template.spec', request_object->'$.spec.jobTemplate.spec.template.spec',
            request_object->'$.spec') AS spec
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
        AND verb IN ('create', 'update', 'patch')
        AND resource IN ('pods', 'deployments', 'daemonsets', 'statefulsets', 'replicasets', 'jobs', 'cronjobs')
        AND coalesce(subresource, '') = ''
        AND request_object IS NOT NULL
        AND coalesce(response_code, 0) < 400
),
flags AS (
    SELECT resource, user_name, 'privileged container' AS setting FROM writes
    WHERE list_contains(json_extract_string(spec, '$.containers[*].securityContext.privileged'), 'true')
        OR list_contains(json_extract_string(spec, '$.initContainers[*].securityContext.privileged'), 'true')
    UNION ALL
    SELECT resource, user_name, 'hostNetwork' FROM writes WHERE spec->>'$.hostNetwork' = 'true'
    UNION ALL
    SELECT resource, user_name, 'hostPID' FROM writes WHERE spec->>'$.hostPID' = 'true'
    UNION ALL
    SELECT resource, user_name, 'hostIPC' FROM writes WHERE spec->>'$.hostIPC' = 'true'
    UNION ALL
    SELECT resource, user_name, 'hostPath volume' FROM writes
    WHERE json_array_length(json_extract(spec, '$.volumes[*].hostPath')) > 0
)
SELECT
    setting,
    resource,
    count(*) AS events,
    count(DISTINCT user_name) AS identities,
    string_agg(DISTINCT user_name, ', ' ORDER BY user_name) AS who
FROM flags
GROUP BY ALL
ORDER BY events DESC, setting, resource

/* ---
id: debug-image-pod
title: Privileged or host-PID pod running a shell in a debug or base image
kind: detection
severity: high
needs_level: Request
area: privileged-workloads
controls:
- pci-dss-4.0:10.2.1.2
- pci-dss-4.0:10.2.1.7
- nist-800-53-r5:AU-6
- soc2:CC6.1
- soc2:CC7.2
- iso-27001-2022:A.8.16
references: [elastic:Kubernetes Pod Creation Using Common Debug or Base Images, catalog:debug-image-pod]
mitre: [T1610, T1609, T1611]
description: >-
  A pod created (directly, not by a controller) whose container uses a common debug or base image (busybox,
  alpine, ubuntu, debian, centos, fedora, nicolaka/netshoot, network-multitool, curlimages/curl, kali) to run
  an interactive shell (command or args sh/bash/ash/zsh, or stdin with no command, as `kubectl run -it` and
  `kubectl debug node/...` do) while the container is privileged or the pod shares the host PID namespace: the
  shape of a hand-made "node shell" used to break out to the node. Ordinary debug pods without host access are
  not reported (Elastic's rule judges those by rarity; here they would flood the queue). Per-query exceptions
  (user or namespace) come from allow_query_list.
--- */
WITH p AS (
    -- The pod's own spec, not workload_specs.podspec: only pod creates are judged here.
    SELECT *, request_object -> '$.spec' AS spec
    FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND verb = 'create' AND resource = 'pods'
),
c AS (
    SELECT p.cluster, p.audit_id, c.value AS container,
        c.value ->> '$.image' AS image,
        regexp_extract(lower(split_part(split_part(c.value ->> '$.image', '@', 1), ':', 1)),
                       '([^/]+/)?([^/]+)$', 0) AS repo_tail,
        list_concat(coalesce(json_extract_string(c.value, '$.command[*]'), []),
                    coalesce(json_extract_string(c.value, '$.args[*]'), [])) AS argv,
        coalesce((c.value ->> '$.securityContext.privileged') = 'true', false) AS privileged,
        coalesce((p.spec ->> '$.hostPID') = 'true', false) AS host_pid
    FROM p, unnest(list_concat(coalesce(json_extract(p.spec, '$.containers[*]'), []),
                               coalesce(json_extract(p.spec, '$.initContainers[*]'), []))) AS c(value)
),
hits AS (
    SELECT * FROM c
    WHERE (privileged OR host_pid)
      AND regexp_full_match(repo_tail,
            '(library/)?(busybox|alpine|ubuntu|debian|centos|fedora)|nicolaka/netshoot|(praqma/|wbitt/)?network-multitool|curlimages/curl|kalilinux/kali[a-z-]*|([^/]+/)?kali(linux)?')
      AND (list_has_any(list_transform(argv, lambda a: regexp_replace(a, '^.*/', '')), ['sh', 'bash', 'ash', 'zsh', 'dash'])
           OR (len(argv) = 0 AND coalesce((container ->> '$.stdin') = 'true', false)))
),
per_pod AS (
    SELECT cluster, audit_id, list_sort(list_distinct(list(image))) AS images,
        CASE WHEN bool_or(privileged) AND bool_or(host_pid) THEN 'privileged, hostPID'
             WHEN bool_or(privileged) THEN 'privileged' ELSE 'hostPID' END AS host_access
    FROM hits GROUP BY cluster, audit_id
)
SELECT
    p.request_ts AS ts, p.cluster, p.audit_id, p.user_name, client_ip(p.source_ips) AS source_ip, p.verb, p.resource, p.namespace,
    p.object_ref AS object_name,
    format('{} created pod {}/{} running a shell in {} ({})', p.user_name, coalesce(p.namespace, '-'),
           coalesce(p.object_ref, '?'), array_to_string(h.images, ', '),
           h.host_access) AS summary,
    h.images, h.host_access, p.user_agent
FROM p JOIN per_pod h USING (cluster, audit_id)
WHERE NOT allowlisted($query_id, [p.user_name, p.namespace])
ORDER BY ts

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
scope: event
description: >-
  A pod created (directly, not by a controller) whose container uses a common debug or base image (busybox,
  alpine, ubuntu, debian, centos, fedora, nicolaka/netshoot, network-multitool, curlimages/curl, kali) to run
  an interactive shell (command or args sh/bash/ash/zsh, or stdin with no command, as `kubectl run -it` and
  `kubectl debug node/...` do) while the container is privileged or the pod shares the host PID namespace: the
  shape of a hand-made "node shell" used to break out to the node. Ordinary debug pods without host access are
  not reported (Elastic's rule judges those by rarity; here they would flood the queue). Per-query exceptions
  (user or namespace) come from allow_query_list.
triage: >-
  The `images` and `host_access` evidence show the base image and what the shell can reach; `user_name`,
  `user_agent`, `namespace` and `object_name` who made it and where. Expected: an on-call engineer running
  `kubectl debug node/NODE -it --image=busybox` during an incident (a `node-debugger-*` pod, kubectl user
  agent, a ticket); suspicious: a person outside operations, a pod named to look like a component, or a
  service account creating it. See what was run in it: `kanalytics sql --month YYYY-MM "SELECT DISTINCT
  request_ts, user_name, subresource, request_uri FROM events WHERE namespace = 'NS' AND object_name = 'NAME'
  AND subresource IN ('exec', 'attach') ORDER BY request_ts"`.
remediation: >-
  Delete the pod; its user had root on the node, so cordon and drain that node and rebuild it (or inspect it
  for persistence) and rotate the kubelet's and the node's cloud credentials. Keep privileged and hostPID pods
  out of application namespaces with Pod Security baseline, and let only a break-glass group create node-debug
  pods. A dedicated debugging namespace or on-call identity goes into `[allowlists.query_lists]
  debug-image-pod`; a one-off session is recorded with `kanalytics triage set FINDING_ID --verdict benign
  --note "INC-NNN node debug" --by YOU`.
--- */
WITH p AS (
    -- The pod's own spec, not workload_specs.podspec: only pod creates are judged here.
    SELECT *, request_object -> '$.spec' AS spec,
        coalesce((request_object ->> '$.spec.hostPID') = 'true', false) AS host_pid
    FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND verb = 'create' AND resource = 'pods'
),
c AS (  -- each pod's containers with what is judged of them, as a list: every row stays one event
    SELECT *,
        list_transform(
            list_concat(coalesce(json_extract(spec, '$.containers[*]'), []),
                        coalesce(json_extract(spec, '$.initContainers[*]'), [])),
            lambda k: {
                'image': k ->> '$.image',
                'repo_tail': regexp_extract(lower(split_part(split_part(k ->> '$.image', '@', 1), ':', 1)),
                                            '([^/]+/)?([^/]+)$', 0),
                'argv': list_concat(coalesce(json_extract_string(k, '$.command[*]'), []),
                                    coalesce(json_extract_string(k, '$.args[*]'), [])),
                'stdin': coalesce((k ->> '$.stdin') = 'true', false),
                'privileged': coalesce((k ->> '$.securityContext.privileged') = 'true', false)
            }) AS judged
    FROM p
),
hits AS (
    SELECT *,
        list_filter(judged, lambda k: (k.privileged OR host_pid)
            AND regexp_full_match(k.repo_tail,
                  '(library/)?(busybox|alpine|ubuntu|debian|centos|fedora)|nicolaka/netshoot|(praqma/|wbitt/)?network-multitool|curlimages/curl|kalilinux/kali[a-z-]*|([^/]+/)?kali(linux)?')
            AND (list_has_any(list_transform(k.argv, lambda a: regexp_replace(a, '^.*/', '')), ['sh', 'bash', 'ash', 'zsh', 'dash'])
                 OR (len(k.argv) = 0 AND k.stdin))) AS shells
    FROM c
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} created pod {}/{} running a shell in {} ({})', user_name, coalesce(namespace, '-'),
           coalesce(object_ref, '?'), array_to_string(images, ', '), host_access) AS summary,
    images, host_access, user_agent
FROM (
    SELECT *, list_sort(list_distinct(list_transform(shells, lambda k: k.image))) AS images,
        CASE WHEN list_bool_or(list_transform(shells, lambda k: k.privileged)) AND host_pid THEN 'privileged, hostPID'
             WHEN list_bool_or(list_transform(shells, lambda k: k.privileged)) THEN 'privileged' ELSE 'hostPID' END AS host_access
    FROM hits
    WHERE len(shells) > 0
) e
WHERE NOT allowlisted($query_id, [e.user_name, e.namespace])
ORDER BY ts, audit_id

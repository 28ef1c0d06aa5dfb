/* ---
id: workload_specs
description: >-
  Successful writes (create, update, patch; ResponseComplete, 2xx, body present) of pods and of the workloads
  that make pods (deployments, daemonsets, statefulsets, replicasets, jobs, cronjobs), and the ephemeral
  containers added to a running pod (pods/ephemeralcontainers, what `kubectl debug` writes), with the pod spec
  they carry as `podspec` (a CronJob's job template, a workload's pod template, or the pod's own spec) and
  every container of it as `containers` (containers, initContainers and ephemeralContainers, as JSON).
  `debug_container` is true for the pods/ephemeralcontainers writes. Kubelets (mirror pods), the
  controller-manager and the built-in `kube-system:*-controller` service accounts are left out: the workload
  object that made their pods is judged instead, when it is created or changed; a write without a user is
  kept. Adds `object_ref` (the object's name, also from the body), `verb_past` (created/updated/patched) and
  `object_kind` (the resource in the singular) for summaries.
--- */
SELECT *,
    coalesce(request_object -> '$.spec.jobTemplate.spec.template.spec',
             request_object -> '$.spec.template.spec',
             request_object -> '$.spec') AS podspec,
    list_concat(coalesce(json_extract(podspec, '$.containers[*]'), []),
                coalesce(json_extract(podspec, '$.initContainers[*]'), []),
                coalesce(json_extract(podspec, '$.ephemeralContainers[*]'), [])) AS containers,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_ref,
    CASE verb WHEN 'create' THEN 'created' WHEN 'update' THEN 'updated' ELSE 'patched' END AS verb_past,
    coalesce(subresource, '') = 'ephemeralcontainers' AS debug_container,
    CASE subresource WHEN 'ephemeralcontainers' THEN 'ephemeral containers of pod'
        ELSE regexp_replace(resource, 's$', '') END AS object_kind
FROM events
WHERE stage = 'ResponseComplete'
  AND verb IN ('create', 'update', 'patch')
  AND resource IN ('pods', 'deployments', 'daemonsets', 'statefulsets', 'replicasets', 'jobs', 'cronjobs')
  -- the object itself, or (pods only: no other resource has it) the ephemeral containers added to a pod
  AND coalesce(subresource, '') IN ('', 'ephemeralcontainers')
  AND response_code BETWEEN 200 AND 299
  AND request_object IS NOT NULL
  AND NOT coalesce(is_node(user_name) OR is_controller(user_name), false)

/* ---
id: workload_specs
description: >-
  Successful writes (create, update, patch; ResponseComplete, 2xx, no subresource, body present) of pods and
  of the workloads that make pods (deployments, daemonsets, statefulsets, replicasets, jobs, cronjobs), with
  the pod spec they carry as `podspec` (a CronJob's job template, a workload's pod template, or the pod's own
  spec). Kubelets (mirror pods), the controller-manager and the built-in `kube-system:*-controller` service
  accounts are left out: the workload object that made their pods is reported instead. Adds `object_ref` (the
  object's name, also from the body), `verb_past` (created/updated/patched) and `object_kind` (the resource in
  the singular) for summaries.
--- */
SELECT *,
    coalesce(request_object -> '$.spec.jobTemplate.spec.template.spec',
             request_object -> '$.spec.template.spec',
             request_object -> '$.spec') AS podspec,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_ref,
    CASE verb WHEN 'create' THEN 'created' WHEN 'update' THEN 'updated' ELSE 'patched' END AS verb_past,
    regexp_replace(resource, 's$', '') AS object_kind
FROM events
WHERE stage = 'ResponseComplete'
  AND verb IN ('create', 'update', 'patch')
  AND resource IN ('pods', 'deployments', 'daemonsets', 'statefulsets', 'replicasets', 'jobs', 'cronjobs')
  AND coalesce(subresource, '') = ''
  AND response_code BETWEEN 200 AND 299
  AND request_object IS NOT NULL
  AND NOT is_node(user_name)
  AND NOT is_controller(user_name)

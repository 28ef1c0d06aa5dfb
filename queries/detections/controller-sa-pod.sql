/* ---
id: controller-sa-pod
title: Workload in kube-system runs as a built-in controller's service account
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
references:
- elastic:Kubernetes Suspicious Assignment of Controller Service Account
- catalog:controller-sa-pod
mitre: [T1078.001, T1528]
scope: event
description: >-
  A pod, or a workload whose pod template, is created or changed in kube-system with serviceAccountName set to
  one of the kube-controller-manager's own service accounts (namespace-controller, generic-garbage-collector,
  clusterrole-aggregation-controller, replicaset-controller, ...). Those accounts hold broad, often
  cluster-admin-equivalent rights, and no ordinary workload runs as them: a pod that mounts such a token hands
  those rights to whatever runs in it. Add-on controllers with their own accounts (e.g.
  aws-load-balancer-controller) are not on the list. Pods made by the built-in controllers and kubelet mirror
  pods are skipped (the workload that made them is reported). Per-query exceptions (user or object name) come
  from allow_query_list.
triage: >-
  `service_account` names the kube-controller-manager account, `resource` and `object_name` the pod or
  workload in kube-system, `user_name` and `user_agent` who wrote it. No ordinary workload runs as these
  accounts: the rare benign case is a broken chart or a distribution's add-on that reuses such a name, which
  its image and owner show (`kubectl get RESOURCE -n kube-system NAME -o yaml`). Compare where the account's
  requests come from: the genuine controller calls from the control plane with a kube-controller-manager user
  agent, the pod from its pod address: `kanalytics sql --month YYYY-MM "SELECT source_ips[-1] AS ip,
  user_agent, count(*) AS n FROM events WHERE user_name = 'system:serviceaccount:kube-system:SA' GROUP BY
  ALL"`.
remediation: >-
  Delete the workload and its pods (their bound tokens die with them), review what the token did from the pod
  address, and withdraw the writer's rights to create workloads in kube-system. Prevent it with an admission
  rule (Kyverno, Gatekeeper or ValidatingAdmissionPolicy) that rejects `serviceAccountName` set to a built-in
  controller account, and keep kube-system writes to the platform deployer. A reviewed add-on goes into
  `[allowlists.query_lists] controller-sa-pod` by deploying user or object name.
--- */
WITH w AS (
    SELECT * FROM workload_specs
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND namespace = 'kube-system'
),
sa AS (
    SELECT *, coalesce(podspec ->> '$.serviceAccountName', podspec ->> '$.serviceAccount') AS service_account
    FROM w
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    object_ref AS object_name,
    format('{} {} {} kube-system/{} to run as the controller service account {}', user_name,
           verb_past,
           object_kind, coalesce(object_ref, '?'),
           service_account) AS summary,
    service_account, user_agent
FROM sa
WHERE service_account IN (
        'attachdetach-controller', 'bootstrap-signer', 'certificate-controller',
        'clusterrole-aggregation-controller', 'cronjob-controller', 'daemon-set-controller',
        'deployment-controller', 'disruption-controller', 'endpoint-controller', 'endpointslice-controller',
        'endpointslicemirroring-controller', 'ephemeral-volume-controller', 'expand-controller',
        'generic-garbage-collector', 'horizontal-pod-autoscaler', 'job-controller',
        'legacy-service-account-token-cleaner', 'namespace-controller', 'node-controller',
        'persistent-volume-binder', 'pod-garbage-collector', 'pv-protection-controller',
        'pvc-protection-controller', 'replicaset-controller', 'replication-controller',
        'resourcequota-controller', 'root-ca-cert-publisher', 'route-controller', 'service-account-controller',
        'service-cidrs-controller', 'service-controller', 'statefulset-controller', 'token-cleaner',
        'ttl-after-finished-controller', 'ttl-controller', 'validatingadmissionpolicy-status-controller')
  AND NOT allowlisted($query_id, [sa.user_name, sa.object_ref])
ORDER BY ts

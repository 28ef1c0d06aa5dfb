/* ---
id: falco-serviceaccount-created-in-kube-namespace
title: Service account created in kube-system or kube-public
kind: detection
severity: medium
needs_level: Metadata
area: rbac
controls: [pci-dss-4.0:10.2.1.5, nist-800-53-r5:AU-6, soc2:CC6.3, iso-27001-2022:A.8.16]
references: [falco:Service Account Created in Kube Namespace]
mitre: [T1136]
scope: event
suppress_by:
  query_list:
  - object_name
description: >-
  A successful service account create in kube-system or kube-public whose name is not a known controller
  account (Falco's known_sa_list, extendable with allowlists.query_lists).
triage: >-
  Check `object_name` and `user_name`: add-ons installed into kube-system by the platform's deployer, GitOps
  controller or the cloud's add-on manager (metrics-server, cluster-autoscaler, a CSI or load-balancer
  controller) create their service accounts there, normally together with a Deployment of the same name in the
  same minute. A person creating an account with kubectl, a name imitating a built-in controller, or a binding
  to a powerful role right after it is the persistence pattern. Follow-up: `kubectl get
  rolebindings,clusterrolebindings -A -o wide | grep NAME` shows what the account was granted, and `kanalytics
  sql --month YYYY-MM "SELECT request_ts, verb, resource, namespace, object_name FROM events WHERE user_name =
  'system:serviceaccount:NS:NAME' ORDER BY request_ts"` what it has done since.
remediation: >-
  If unauthorised, delete the bindings that name the account, the pods that run as it and then the
  ServiceAccount itself (its tokens stop working), and review what it did. Restrict `create` on
  serviceaccounts in kube-system and kube-public to the platform deployer, and enforce it with an admission
  rule (ValidatingAdmissionPolicy, Kyverno or Gatekeeper). For a legitimate add-on, add the account name
  (matched on `object_name`) to `[allowlists.query_lists] falco-serviceaccount-created-in-kube-namespace` with
  a reason.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created service account {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'serviceaccounts' AND verb = 'create' AND namespace IN ('kube-system', 'kube-public') AND succeeded
  AND (object_name IS NULL OR NOT list_contains(
    list_concat(
      [
        'coredns', 'coredns-autoscaler', 'cronjob-controller', 'daemon-set-controller',
        'deployment-controller', 'disruption-controller', 'endpoint-controller', 'endpointslice-controller',
        'endpointslicemirroring-controller', 'generic-garbage-collector', 'horizontal-pod-autoscaler',
        'job-controller', 'namespace-controller', 'node-controller', 'persistent-volume-binder',
        'pod-garbage-collector', 'pv-protection-controller', 'pvc-protection-controller',
        'replicaset-controller', 'resourcequota-controller', 'root-ca-cert-publisher',
        'service-account-controller', 'statefulset-controller'
    ],
      allowlist_values($query_id)
    ),
    object_name
  ))
ORDER BY ts, audit_id

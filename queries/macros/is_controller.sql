/* ---
id: is_controller
parameters: [user_name]
description: >-
  A built-in controller that writes pods and workloads on behalf of others: the kube-controller-manager
  itself, or one of the service accounts it runs its controllers as (--use-service-account-credentials), named
  exactly. A name match, not a pattern: `kube-system:kube-controller` or `kube-system:backup-controller` is
  whatever someone created, and attackers name their service accounts to look like the platform's.
--- */
user_name = 'system:kube-controller-manager'
    OR user_name IN (
        'system:serviceaccount:kube-system:attachdetach-controller',
        'system:serviceaccount:kube-system:certificate-controller',
        'system:serviceaccount:kube-system:clusterrole-aggregation-controller',
        'system:serviceaccount:kube-system:cronjob-controller',
        'system:serviceaccount:kube-system:daemon-set-controller',
        'system:serviceaccount:kube-system:deployment-controller',
        'system:serviceaccount:kube-system:disruption-controller',
        'system:serviceaccount:kube-system:endpoint-controller',
        'system:serviceaccount:kube-system:endpointslice-controller',
        'system:serviceaccount:kube-system:endpointslicemirroring-controller',
        'system:serviceaccount:kube-system:ephemeral-volume-controller',
        'system:serviceaccount:kube-system:expand-controller',
        'system:serviceaccount:kube-system:generic-garbage-collector',
        'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
        'system:serviceaccount:kube-system:job-controller',
        'system:serviceaccount:kube-system:namespace-controller',
        'system:serviceaccount:kube-system:node-controller',
        'system:serviceaccount:kube-system:persistent-volume-binder',
        'system:serviceaccount:kube-system:pod-garbage-collector',
        'system:serviceaccount:kube-system:pv-protection-controller',
        'system:serviceaccount:kube-system:pvc-protection-controller',
        'system:serviceaccount:kube-system:replicaset-controller',
        'system:serviceaccount:kube-system:replication-controller',
        'system:serviceaccount:kube-system:resourcequota-controller',
        'system:serviceaccount:kube-system:root-ca-cert-publisher',
        'system:serviceaccount:kube-system:route-controller',
        'system:serviceaccount:kube-system:service-account-controller',
        'system:serviceaccount:kube-system:service-controller',
        'system:serviceaccount:kube-system:statefulset-controller',
        'system:serviceaccount:kube-system:ttl-after-finished-controller',
        'system:serviceaccount:kube-system:ttl-controller',
        'system:serviceaccount:kube-system:resource-claim-controller',
        'system:serviceaccount:kube-system:legacy-service-account-token-cleaner',
        'system:serviceaccount:kube-system:validatingadmissionpolicy-status-controller'
    )

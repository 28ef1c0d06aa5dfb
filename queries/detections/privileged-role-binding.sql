/* ---
id: privileged-role-binding
title: Binding grants a privileged role
kind: detection
severity: high
needs_level: Request
area: rbac
controls:
- pci-dss-4.0:10.2.1.5
- pci-dss-4.0:10.2.1.2
- nist-800-53-r5:AU-6
- soc2:CC6.2
- soc2:CC6.3
- soc2:CC7.2
- iso-27001-2022:A.8.16
- hipaa:164.312(b)
references:
- elastic:Kubernetes Cluster-Admin Role Binding Created
- panther:Kubernetes.ClusterRoleBinding.Privileged
- datadog:A Kubernetes user was assigned cluster administrator permissions
- guardduty:PrivilegeEscalation:Kubernetes/AnomalousBehavior.RoleBindingCreated
- catalog:cluster-admin-binding
mitre: [T1098.006]
pattern: [object_name]
scope: event
description: >-
  A RoleBinding or ClusterRoleBinding was created, replaced or patched with subjects (successfully) and grants
  cluster-admin (in any binding: in a RoleBinding it is every right in that namespace), admin or edit
  cluster-wide (a ClusterRoleBinding: every namespace's secrets and workloads) or in kube-system (where edit
  already means running pods as the controllers' service accounts), or names the group system:masters as a
  subject (a group that bypasses RBAC: binding it is a misunderstanding or groundwork for a credential
  carrying it). The control plane's own bindings (the API server's bootstrap roles, managed add-on managers)
  are left out. A binding whose only subjects are default service accounts is left to admin-to-default-sa,
  which says so; falco-attach-cluster-admin-role (Falco parity) also counts refused creates. A patch whose
  body carries no subjects (a label change) changes no grant and is not reported.
triage: >-
  Read who gained (`subjects`, `privileged_grant`, `masters_subject` in the evidence) and who granted
  (`user_name`, `user_agent`): cluster bootstrap (Terraform, eksctl, kubeadm) binding the administrators'
  group, or the GitOps deployer applying a reviewed binding with a matching commit, are expected. A person
  binding themselves or a new service account, an outside user, or any binding that names system:masters is
  not. Follow-up: `kubectl get clusterrolebinding NAME -o yaml` (or `kubectl get rolebinding -n NS NAME -o
  yaml`), and `kanalytics sql --month YYYY-MM "SELECT request_ts, verb, resource, namespace, object_name FROM
  events WHERE user_name = 'SUBJECT' AND request_ts >= TIMESTAMPTZ 'TS' AND stage = 'ResponseComplete' ORDER
  BY request_ts"` for what the new holder did with it.
remediation: >-
  If unauthorised, delete the binding (`kubectl delete clusterrolebinding NAME`), revert what its subjects did
  since, and revoke the granter's credential if it was stolen. Limit create, update and patch on bindings, and
  the `bind` verb, to the deployer, and reject bindings to cluster-admin or system:masters outside it with an
  admission rule (ValidatingAdmissionPolicy, Kyverno or Gatekeeper). For a reviewed binding, add its name,
  namespace or the granting user to `[allowlists.query_lists] privileged-role-binding` with a reason.
--- */
WITH b AS (
    SELECT *,
        coalesce(request_object ->> '$.roleRef.name', response_object ->> '$.roleRef.name') AS role,
        coalesce(request_object ->> '$.roleRef.kind', response_object ->> '$.roleRef.kind') AS role_kind,
        coalesce(json_extract(request_object, '$.subjects[*]'), []) AS subject_list
    FROM events
    WHERE request_ts >= $period_start AND request_ts < $period_end
      AND stage = 'ResponseComplete'
      AND response_code BETWEEN 200 AND 299
      AND resource IN ('rolebindings', 'clusterrolebindings') AND verb IN ('create', 'update', 'patch')
      AND coalesce(subresource, '') = ''
      AND NOT coalesce(is_control_plane(user_name), false)
),
judged AS (
    SELECT *,
        list_transform(subject_list, lambda s: concat_ws(' ', s ->> '$.kind',
            CASE WHEN s ->> '$.namespace' IS NOT NULL THEN (s ->> '$.namespace') || '/' ELSE '' END
            || coalesce(s ->> '$.name', '?'))) AS subjects,
        list_bool_or(list_transform(subject_list,
            lambda s: coalesce((s ->> '$.kind') = 'Group' AND (s ->> '$.name') = masters_group(), false))) AS masters_subject,
        list_bool_and(list_transform(subject_list,
            lambda s: coalesce((s ->> '$.kind') = 'ServiceAccount' AND (s ->> '$.name') = 'default', false))) AS only_default_sa,
        CASE
            WHEN role_kind IS DISTINCT FROM 'ClusterRole' THEN NULL
            WHEN role = 'cluster-admin' THEN 'cluster-admin'
            WHEN role IN ('admin', 'edit') AND resource = 'clusterrolebindings' THEN role || ' cluster-wide'
            WHEN role IN ('admin', 'edit') AND namespace = 'kube-system' THEN role || ' in kube-system'
        END AS privileged_grant
    FROM b
    WHERE len(subject_list) > 0
)
SELECT
    request_ts AS ts, cluster, audit_id, user_name, client_ip(source_ips) AS source_ip, verb, resource, namespace,
    coalesce(object_name, request_object ->> '$.metadata.name') AS object_name,
    format('{} {} {} {} granting {} to {}', coalesce(user_name, '(unknown user)'), verb_past(verb),
           regexp_replace(resource, 's$', ''),
           coalesce(CASE WHEN namespace IS NOT NULL THEN namespace || '/' END, '')
               || coalesce(object_name, request_object ->> '$.metadata.name', '?'),
           coalesce(privileged_grant, coalesce(role_kind, 'role') || ' ' || coalesce(role, '?')),
           array_to_string(subjects, ', '))
        || CASE WHEN masters_subject THEN ' (names the group system:masters, which bypasses RBAC)' ELSE '' END AS summary,
    role, role_kind, subjects, privileged_grant, masters_subject, user_agent, response_code
FROM judged j
WHERE ((privileged_grant IS NOT NULL AND NOT only_default_sa) OR masters_subject)
  AND NOT allowlisted($query_id, [j.user_name, j.namespace, j.object_name])
ORDER BY ts, audit_id

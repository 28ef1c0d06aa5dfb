/* ---
id: falco-create-nodeport-service
title: NodePort service created
kind: detection
severity: medium
needs_level: Request
area: network
controls: [nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.16]
references: [falco:Create NodePort Service]
mitre: [T1133]
pattern: [summary]
scope: event
description: >-
  A service created with spec.type NodePort, which opens a port on every node.
triage: >-
  `namespace` and `object_name` name the Service, `user_name` who created it (fired whether or not the create
  succeeded). Whether the node port is reachable from outside depends on the nodes' firewall or security
  groups; expected cases are ingress controllers on bare metal and services fronted by an external load
  balancer, created by the deployer; suspicious: an internal application or admin interface exposed by a
  person. Check the ports and the pods behind it with `kubectl get service -n NS NAME -o yaml` and `kubectl
  get endpointslices -n NS -l kubernetes.io/service-name=NAME`.
remediation: >-
  Change an unapproved Service to ClusterIP behind an Ingress or Gateway, or delete it, and check the node
  firewall for the opened port. Reject NodePort Services outside the ingress namespaces at admission (Kyverno,
  Gatekeeper or ValidatingAdmissionPolicy). This Falco rule has no allow-list: record reviewed services with
  `kanalytics triage set FINDING_ID --verdict benign --note ... --by YOU`.
--- */
SELECT
    ts, audit_id, user_name, source_ip, verb, resource, namespace, object_name,
    format('{} created NodePort service {} in {}', falco_user, falco_object, falco_namespace) AS summary,
    cluster
FROM falco_events
WHERE request_ts >= $period_start AND request_ts < $period_end
  AND stage = 'ResponseComplete' AND resource = 'services' AND verb = 'create' AND request_object->>'$.spec.type' = 'NodePort'
ORDER BY ts, audit_id

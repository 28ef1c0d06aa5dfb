/* ---
id: configuration-changes-summary
title: Changes to cluster configuration objects
kind: metric
needs_level: Metadata
area: configuration
controls: [pci-dss-4.0:10.2.1.7, nist-800-53-r5:AU-6, soc2:CC7.2, iso-27001-2022:A.8.15]
references: [catalog:M7]
description: >-
  Successful writes to admission webhooks, custom resource definitions, API services, namespaces, network
  policies and nodes: the cluster-level objects whose changes alter how the cluster behaves.
--- */
SELECT
    resource,
    verb,
    count(*) AS events,
    count(DISTINCT user_name) AS identities,
    string_agg(DISTINCT user_name, ', ' ORDER BY user_name) AS who
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end
    AND verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')
    AND resource IN ('mutatingwebhookconfigurations', 'validatingwebhookconfigurations',
        'validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'customresourcedefinitions',
        'apiservices', 'namespaces', 'networkpolicies', 'priorityclasses', 'runtimeclasses')
    AND coalesce(subresource, '') NOT IN ('status', 'finalize')
    AND coalesce(response_code, 0) < 400
GROUP BY ALL
ORDER BY events DESC, resource, verb

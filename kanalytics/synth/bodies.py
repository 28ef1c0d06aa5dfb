"""Realistic request/response bodies: pods, deployments, services, RBAC objects and webhook configurations."""

from __future__ import annotations

from typing import Any

from kanalytics.synth.cluster import Workload

Body = dict[str, Any]
_CREATED = "2026-06-02T08:14:31Z"


def _meta(name: str, namespace: str, uid: str, rv: int, labels: dict[str, str] | None = None) -> Body:
    meta: Body = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta.update({"uid": uid, "resourceVersion": str(rv), "creationTimestamp": _CREATED})
    if labels:
        meta["labels"] = labels
    return meta


def container(name: str, image: str, *, privileged: bool = False, command: list[str] | None = None) -> Body:
    ctr: Body = {"name": name, "image": image}
    if command:
        ctr["command"] = command
    ctr["ports"] = [] if privileged else [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    ctr["resources"] = {
        "limits": {"cpu": "500m", "memory": "512Mi"},
        "requests": {"cpu": "100m", "memory": "128Mi"},
    }
    ctr["volumeMounts"] = [
        {
            "name": "kube-api-access",
            "readOnly": True,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        }
    ]
    if privileged:
        ctr["volumeMounts"].append({"name": "host-root", "mountPath": "/host"})
        ctr["securityContext"] = {"privileged": True, "runAsUser": 0}
    else:
        ctr["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        }
        ctr["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
        ctr["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5}
    ctr["imagePullPolicy"] = "IfNotPresent"
    ctr["terminationMessagePath"] = "/dev/termination-log"
    return ctr


def _token_volume() -> Body:
    return {
        "name": "kube-api-access",
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]
                    }
                },
            ],
        },
    }


def pod_spec(w: Workload, *, node: str = "") -> Body:
    spec: Body = {
        "volumes": [_token_volume()],
        "containers": [container(w.name, w.image)],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": w.service_account,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "schedulerName": "default-scheduler",
    }
    if node:
        spec["nodeName"] = node
    return spec


def pod(w: Workload, name: str, uid: str, rv: int, node: str = "") -> Body:
    meta = _meta(name, w.namespace, uid, rv, {"app.kubernetes.io/name": w.name, "pod-template-hash": "7c9d"})
    meta["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": w.replicaset,
            "uid": uid[::-1],
            "controller": True,
        }
    ]
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": pod_spec(w, node=node)}


def privileged_pod(name: str, namespace: str, uid: str, rv: int, image: str) -> Body:
    """The classic node-takeover pod: privileged, host PID/network, the node's root file system at /host."""
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": _meta(name, namespace, uid, rv, {"run": name}),
        "spec": {
            "hostPID": True,
            "hostNetwork": True,
            "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": ""}}, _token_volume()],
            "containers": [
                container(name, image, privileged=True, command=["nsenter", "-t", "1", "-m", "sh"])
            ],
            "restartPolicy": "Never",
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
        },
    }


def deployment(w: Workload, uid: str, rv: int, replicas: int, generation: int) -> Body:
    labels = {"app.kubernetes.io/name": w.name, "app.kubernetes.io/part-of": w.namespace}
    meta = _meta(w.name, w.namespace, uid, rv, labels)
    meta["generation"] = generation
    meta["annotations"] = {"deployment.kubernetes.io/revision": str(generation), "argocd.argoproj.io/tracking-id":
                           f"{w.namespace}:apps/Deployment:{w.namespace}/{w.name}"}  # fmt: skip
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": w.name}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec(w)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        },
    }


def service(name: str, namespace: str, uid: str, rv: int, *, node_port: int = 0) -> Body:
    port: Body = {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}
    spec: Body = {"selector": {"app.kubernetes.io/name": name}, "ports": [port]}
    if node_port:
        port["nodePort"] = node_port
        spec["type"] = "NodePort"
        spec["externalTrafficPolicy"] = "Cluster"
    else:
        spec["type"] = "ClusterIP"
        spec["clusterIP"] = f"10.96.{rv % 250}.{rv % 199 + 2}"
    return {"kind": "Service", "apiVersion": "v1", "metadata": _meta(name, namespace, uid, rv), "spec": spec}


def role(name: str, namespace: str, uid: str, rv: int, rules: list[Body]) -> Body:
    kind = "Role" if namespace else "ClusterRole"
    meta = _meta(name, namespace, uid, rv)
    return {"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": meta, "rules": rules}


def binding(
    name: str, namespace: str, uid: str, rv: int, role_kind: str, role_name: str, subjects: list[Body]
) -> Body:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    return {
        "kind": kind,
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": _meta(name, namespace, uid, rv),
        "subjects": subjects,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
    }


def mutating_webhook(name: str, uid: str, rv: int, url: str) -> Body:
    return {
        "kind": "MutatingWebhookConfiguration",
        "apiVersion": "admissionregistration.k8s.io/v1",
        "metadata": _meta(name, "", uid, rv),
        "webhooks": [
            {
                "name": f"{name}.acme.example",
                "clientConfig": {"url": url},
                "rules": [
                    {
                        "operations": ["CREATE", "UPDATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                        "scope": "*",
                    }
                ],
                "failurePolicy": "Ignore",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 5,
            }
        ],
    }


def job(w: Workload, name: str, uid: str, rv: int) -> Body:
    meta = _meta(name, w.namespace, uid, rv, {"app.kubernetes.io/name": f"{w.name}-cleanup"})
    meta["ownerReferences"] = [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": f"{w.name}-cleanup",
            "uid": uid[::-1],
            "controller": True,
        }
    ]
    spec = pod_spec(w)
    spec["restartPolicy"] = "OnFailure"
    return {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": meta,
        "spec": {"backoffLimit": 3, "completions": 1, "parallelism": 1, "template": {"spec": spec}},
    }


def replicaset(w: Workload, uid: str, rv: int, replicas: int) -> Body:
    meta = _meta(w.replicaset, w.namespace, uid, rv, {"app.kubernetes.io/name": w.name})
    meta["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name, "uid": uid[::-1], "controller": True}
    ]
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": w.name}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": w.name}}, "spec": pod_spec(w)},
        },
    }


DELETE_OPTIONS: Body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}


def service_account(name: str, namespace: str, uid: str, rv: int, created: str) -> Body:
    meta = _meta(name, namespace, uid, rv)
    meta["creationTimestamp"] = created
    return {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": meta}


def token_request(seconds: int) -> Body:
    """What `kubectl create token` sends: no audiences (the API server's default), no bound object."""
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"audiences": None, "expirationSeconds": seconds, "boundObjectRef": None},
        "status": {"token": "", "expirationTimestamp": None},
    }


def token_response(name: str, namespace: str, seconds: int, audience: str, token: str, expires: str) -> Body:
    """The API server's answer to a TokenRequest: the signed token and when it expires."""
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": {"audiences": [audience], "expirationSeconds": seconds, "boundObjectRef": None},
        "status": {"token": token, "expirationTimestamp": expires},
    }


def host_daemonset(
    name: str, namespace: str, image: str, uid: str = "", rv: int = 0, created: str = ""
) -> Body:
    """A DaemonSet that puts a privileged, host-PID container with the node's `/` on every node.

    Without `uid` it is the request body kubectl sends; with it, the stored object the API server returns.
    """
    labels = {"app.kubernetes.io/name": name, "k8s-app": name}
    ctr = container(name, image, privileged=True)
    spec: Body = {
        "selector": {"matchLabels": {"k8s-app": name}},
        "template": {
            "metadata": {"labels": {"k8s-app": name}},
            "spec": {
                "hostPID": True,
                "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": ""}}, _token_volume()],
                "containers": [ctr],
                "tolerations": [{"operator": "Exists"}],
                "priorityClassName": "system-node-critical",
                "restartPolicy": "Always",
                "dnsPolicy": "ClusterFirst",
                "serviceAccountName": name,
            },
        },
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        "revisionHistoryLimit": 10,
    }
    if not uid:
        return {"kind": "DaemonSet", "apiVersion": "apps/v1",
                "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}  # fmt: skip
    meta = _meta(name, namespace, uid, rv, labels)
    meta["creationTimestamp"], meta["generation"] = created, 1
    status = {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }
    return {"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": meta, "spec": spec, "status": status}


def daemonset_pod(ds: Body, pod_name: str, uid: str, rv: int, node: str, created: str) -> Body:
    """The pod the DaemonSet controller creates for `node` from the DaemonSet's template."""
    template = ds["spec"]["template"]
    meta = _meta(pod_name, ds["metadata"]["namespace"], uid, rv, dict(template["metadata"]["labels"]))
    meta["generateName"] = f"{ds['metadata']['name']}-"
    meta["creationTimestamp"] = created
    meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds["metadata"]["name"],
                                "uid": ds["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]  # fmt: skip
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}  # fmt: skip
    spec = {**template["spec"], "affinity": affinity}
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {"phase": "Pending"}}

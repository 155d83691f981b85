"""The roles and bindings every herd API server starts with: kube-apiserver's bootstrap policy (the part that
means something here) and what `kubeadm init` adds for joining nodes.

kube-apiserver: cluster-admin (bound to system:masters); admin, edit and view, aggregated from the
`system:aggregate-to-*` roles by their `rbac.authorization.k8s.io/aggregate-to-*` labels; system:discovery,
system:basic-user and system:public-info-viewer for everyone; system:monitoring; system:auth-delegator; the
node bootstrapper and CSR roles. kubeadm: kubeadm:get-nodes, kubeadm:kubelet-bootstrap and
kubeadm:node-autoapprove-bootstrap for the bootstrap-token group, and the `cluster-info` reader in kube-public.

herd's simulated `kubeadm join` registers its Node with the bootstrap token itself (a real kubelet gets a
certificate first and registers as system:node:<name>), so the token group may also create Nodes
(herd:node-registration); it can read nothing else, Secrets included.
"""

from __future__ import annotations

from typing import Any

from .types import GROUP

AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAPPING_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
KUBEADM_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]


def rule(verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None
         ) -> dict[str, Any]:
    out: dict[str, Any] = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if names:
        out["resourceNames"] = names
    return out


def url_rule(verbs: list[str], urls: list[str]) -> dict[str, Any]:
    return {"verbs": verbs, "nonResourceURLs": urls}


def _meta(name: str, labels: dict[str, str] | None = None, namespace: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {**BOOTSTRAPPING_LABEL, **(labels or {})},
                            "annotations": {AUTOUPDATE: "true"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def cluster_role(name: str, rules: list[dict[str, Any]], *, labels: dict[str, str] | None = None,
                 aggregate_from: str = "") -> dict[str, Any]:
    role: dict[str, Any] = {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole", "metadata": _meta(name, labels),
                            "rules": rules}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]}
    return role


def subject(kind: str, name: str) -> dict[str, Any]:
    return {"kind": kind, "apiGroup": GROUP, "name": name}


def binding(kind: str, name: str, role_kind: str, role: str, subjects: list[dict[str, Any]],
            namespace: str = "") -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": _meta(name, namespace=namespace),
            "roleRef": {"apiGroup": GROUP, "kind": role_kind, "name": role}, "subjects": subjects}


def _to(role: str) -> dict[str, str]:
    return {AGGREGATE_TO + role: "true"}


_VIEW_RULES = [
    rule(READ, [""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                      "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                      "services/status"]),
    rule(READ, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                      "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"]),
    rule(READ, [""], ["namespaces"]),
    rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    rule(READ, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                          "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
                          "statefulsets", "statefulsets/scale", "statefulsets/status"]),
    rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
]
_EDIT_RULES = [
    rule(READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"]),
    rule(["impersonate"], [""], ["serviceaccounts"]),
    rule(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
    rule(["create"], [""], ["pods/eviction", "serviceaccounts/token"]),
    rule(WRITE, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                       "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"]),
    rule(WRITE, ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                           "replicasets/scale", "statefulsets", "statefulsets/scale"]),
    rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
    rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
    rule([*READ, *WRITE], ["coordination.k8s.io"], ["leases"]),
]
_ADMIN_RULES = [
    rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    rule([*READ, *WRITE], [GROUP], ["rolebindings", "roles"]),
]
_HEALTH = ["/healthz", "/livez", "/readyz"]
_CSR = "certificates.k8s.io"


def default_cluster_roles() -> list[dict[str, Any]]:
    return [
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"]), url_rule(["*"], ["*"])]),
        cluster_role("admin", [], aggregate_from="admin"),
        cluster_role("edit", [], labels=_to("admin"), aggregate_from="edit"),
        cluster_role("view", [], labels=_to("edit"), aggregate_from="view"),
        cluster_role("system:aggregate-to-admin", _ADMIN_RULES, labels=_to("admin")),
        cluster_role("system:aggregate-to-edit", _EDIT_RULES, labels=_to("edit")),
        cluster_role("system:aggregate-to-view", _VIEW_RULES, labels=_to("view")),
        cluster_role("system:discovery", [url_rule(["get"], ["/api", "/api/*", "/apis", "/apis/*", *_HEALTH,
                                                             "/openapi", "/openapi/*", "/version", "/version/"])]),
        cluster_role("system:basic-user", [
            rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
        cluster_role("system:public-info-viewer", [url_rule(["get"], [*_HEALTH, "/version", "/version/"])]),
        cluster_role("system:monitoring", [url_rule(["get"], [
            "/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*"])]),
        cluster_role("system:auth-delegator", [rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                                               rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"])]),
        cluster_role("system:node-bootstrapper", [rule(["create", *READ], [_CSR], ["certificatesigningrequests"])]),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
                     [rule(["create"], [_CSR], ["certificatesigningrequests/nodeclient"])]),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
                     [rule(["create"], [_CSR], ["certificatesigningrequests/selfnodeclient"])]),
        cluster_role("kubeadm:get-nodes", [rule(["get"], [""], ["nodes"])]),
        cluster_role("herd:node-registration", [rule(["create"], [""], ["nodes"])]),
    ]


def _crb(name: str, role: str, *subjects: dict[str, Any]) -> dict[str, Any]:
    return binding("ClusterRoleBinding", name, "ClusterRole", role, list(subjects))


def default_cluster_role_bindings() -> list[dict[str, Any]]:
    authenticated = subject("Group", "system:authenticated")
    token_group = subject("Group", KUBEADM_TOKEN_GROUP)
    return [
        _crb("cluster-admin", "cluster-admin", subject("Group", "system:masters")),
        _crb("system:discovery", "system:discovery", authenticated),
        _crb("system:basic-user", "system:basic-user", authenticated),
        _crb("system:public-info-viewer", "system:public-info-viewer", authenticated,
             subject("Group", "system:unauthenticated")),
        _crb("system:monitoring", "system:monitoring", subject("Group", "system:monitoring")),
        _crb("kubeadm:get-nodes", "kubeadm:get-nodes", token_group),
        _crb("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", token_group),
        _crb("kubeadm:node-autoapprove-bootstrap",
             "system:certificates.k8s.io:certificatesigningrequests:nodeclient", token_group),
        _crb("kubeadm:node-autoapprove-certificate-rotation",
             "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", subject("Group", "system:nodes")),
        _crb("herd:node-registration", "herd:node-registration", token_group),
    ]


CLUSTER_INFO_READER = "kubeadm:bootstrap-signer-clusterinfo"


def default_roles() -> list[dict[str, Any]]:
    """Namespaced roles: kubeadm's reader of the `cluster-info` ConfigMap in kube-public."""
    return [{"apiVersion": f"{GROUP}/v1", "kind": "Role", "metadata": _meta(CLUSTER_INFO_READER,
                                                                            namespace="kube-public"),
             "rules": [rule(["get"], [""], ["configmaps"], ["cluster-info"])]}]


def default_role_bindings() -> list[dict[str, Any]]:
    # kubeadm binds it to system:anonymous (its discovery reads cluster-info without credentials); herd's simulated
    # join reads it with the bootstrap token, so the bootstrap groups are bound as well
    return [binding("RoleBinding", CLUSTER_INFO_READER, "Role", CLUSTER_INFO_READER,
                    [subject("User", "system:anonymous"), subject("Group", "system:bootstrappers")],
                    namespace="kube-public")]

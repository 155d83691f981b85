"""The identity herd's controllers run as, and the one ClusterRole granting what they use.

Upstream runs each Cluster API manager as a ServiceAccount bound to its `manager-role`; herd runs every controller
in one manager, so its role is the union of what they touch on the management cluster: the Cluster API groups'
resources and subresources, Secrets and ConfigMaps (kubeconfigs, certificates, bootstrap data, the kubeadm
bootstrap lock), Events, Leases (leader election), Namespaces and CRDs (read, to find a provider's contract).
Workload clusters are reached with their own admin kubeconfig, so nothing here covers Nodes or Pods.

`herd up` issues the controllers a client certificate for `MANAGER_USER` (not in system:masters) and installs
these objects; `herd init --kubeconfig` installs the same ones on a real cluster, where the subject is the
ServiceAccount the manager runs as.
"""

from __future__ import annotations

from typing import Any

from herd.runtime import Client
from herd.runtime.objects import Kind

MANAGER_NAMESPACE = "herd-system"
MANAGER_SERVICE_ACCOUNT = "herd-controller-manager"
MANAGER_USER = f"system:serviceaccount:{MANAGER_NAMESPACE}:{MANAGER_SERVICE_ACCOUNT}"
# the groups kube-apiserver gives a ServiceAccount's tokens (system:authenticated is added by authentication)
MANAGER_GROUPS = ("system:serviceaccounts", f"system:serviceaccounts:{MANAGER_NAMESPACE}")
ROLE_NAME = "herd-manager-role"
BINDING_NAME = "herd-manager-rolebinding"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"

CLUSTER_ROLES = Kind(RBAC_API_VERSION, "ClusterRole", "clusterroles", namespaced=False, status_subresource=False)
CLUSTER_ROLE_BINDINGS = Kind(RBAC_API_VERSION, "ClusterRoleBinding", "clusterrolebindings", namespaced=False,
                             status_subresource=False)

_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "get", "list", "patch", "update", "watch"]
CLUSTER_API_GROUPS = ["cluster.x-k8s.io", "addons.cluster.x-k8s.io", "bootstrap.cluster.x-k8s.io",
                      "controlplane.cluster.x-k8s.io", "infrastructure.cluster.x-k8s.io", "ipam.cluster.x-k8s.io",
                      "runtime.cluster.x-k8s.io"]

MANAGER_RULES: list[dict[str, Any]] = [
    # every Cluster API kind and its status/finalizers subresources ("*" covers subresources too)
    {"apiGroups": CLUSTER_API_GROUPS, "resources": ["*"], "verbs": _WRITE},
    {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": _WRITE},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": _READ},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": _WRITE},
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": _READ},
]


def manager_cluster_role() -> dict[str, Any]:
    """The ClusterRole `herd-manager-role`: what herd's controllers use on the management cluster."""
    return {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole",
            "metadata": {"name": ROLE_NAME, "labels": {"app.kubernetes.io/name": "herd"}},
            "rules": [dict(rule) for rule in MANAGER_RULES]}


def manager_cluster_role_binding() -> dict[str, Any]:
    """The ClusterRoleBinding granting `herd-manager-role` to the manager's ServiceAccount (which is `MANAGER_USER`:
    RBAC matches a ServiceAccount subject by that user name, whether it comes from a token or a certificate)."""
    return {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRoleBinding",
            "metadata": {"name": BINDING_NAME, "labels": {"app.kubernetes.io/name": "herd"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ROLE_NAME},
            "subjects": [{"kind": "ServiceAccount", "name": MANAGER_SERVICE_ACCOUNT,
                          "namespace": MANAGER_NAMESPACE}]}


async def install_manager_rbac(client: Client) -> None:
    """Create or update the role and its binding (with a client allowed to, e.g. an admin's)."""
    from .management import create_or_update  # management imports the controllers; only this needs it

    await create_or_update(client, CLUSTER_ROLES, manager_cluster_role())
    await create_or_update(client, CLUSTER_ROLE_BINDINGS, manager_cluster_role_binding())

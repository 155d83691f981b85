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

from pathlib import Path
from typing import Any

import yaml

from herd.apiserver.kubeconfig import build_kubeconfig, write_kubeconfig
from herd.apiserver.pki import CertificateAuthority
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


def user_cluster_roles() -> list[dict[str, Any]]:
    """ClusterRoles that add the Cluster API kinds to kube's `view`, `edit` and `admin` (through their aggregation
    labels), so binding a user to `view` in a namespace lets them read its Clusters and Machines."""
    def role(name: str, verbs: list[str], *aggregate_to: str) -> dict[str, Any]:
        labels = {"app.kubernetes.io/name": "herd",
                  **{f"rbac.authorization.k8s.io/aggregate-to-{to}": "true" for to in aggregate_to}}
        return {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": {"name": name, "labels": labels},
                "rules": [{"apiGroups": CLUSTER_API_GROUPS, "resources": ["*"], "verbs": verbs}]}

    return [role("herd:cluster-api-view", _READ, "view"),
            role("herd:cluster-api-edit", ["create", "delete", "deletecollection", "patch", "update"], "edit",
                 "admin")]


async def install_manager_rbac(client: Client) -> None:
    """Create or update the role, its binding and the user roles (with a client allowed to, e.g. an admin's)."""
    from .management import create_or_update  # management imports the controllers; only this needs it

    await create_or_update(client, CLUSTER_ROLES, manager_cluster_role())
    await create_or_update(client, CLUSTER_ROLE_BINDINGS, manager_cluster_role_binding())
    for role in user_cluster_roles():
        await create_or_update(client, CLUSTER_ROLES, role)


CONTROLLER_KUBECONFIG = "controller-manager.kubeconfig"


async def controller_client(admin: Client, ca: CertificateAuthority, admin_kubeconfig: Path, directory: Path
                            ) -> Client:
    """`herd up`'s controllers' client: installs the role and binding with `admin`, then issues a client certificate
    for MANAGER_USER (CN) in MANAGER_GROUPS (O) from the plane's CA and writes a kubeconfig for it beside the admin
    one (0600), for the same server."""
    await install_manager_rbac(admin)
    cert_pem, key_pem = ca.issue_client_cert(MANAGER_USER, list(MANAGER_GROUPS))
    cluster = yaml.safe_load(admin_kubeconfig.read_text())["clusters"][0]["cluster"]
    config = build_kubeconfig(server=cluster["server"], ca_pem=ca.cert_pem, cluster_name="herd",
                              user_name=MANAGER_SERVICE_ACCOUNT, client_cert_pem=cert_pem, client_key_pem=key_pem)
    path = directory / CONTROLLER_KUBECONFIG
    write_kubeconfig(path, config)
    return Client.from_kubeconfig(path)

"""The rbac.authorization.k8s.io/v1 kinds as served resources."""

from __future__ import annotations

from ..resources import ResourceType

GROUP = "rbac.authorization.k8s.io"


def _rbac(kind: str, plural: str, namespaced: bool) -> ResourceType:
    return ResourceType(group=GROUP, version="v1", kind=kind, plural=plural, singular=kind.lower(),
                        namespaced=namespaced, list_kind=kind + "List", storage_version="v1")


ROLES = _rbac("Role", "roles", True)
CLUSTER_ROLES = _rbac("ClusterRole", "clusterroles", False)
ROLE_BINDINGS = _rbac("RoleBinding", "rolebindings", True)
CLUSTER_ROLE_BINDINGS = _rbac("ClusterRoleBinding", "clusterrolebindings", False)
RBAC_TYPES = (ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS)
RBAC_PREFIX = f"/registry/{GROUP}/"
ROLE_KINDS = {"Role": ROLES, "ClusterRole": CLUSTER_ROLES}

"""Who holds which rules: an index over the stored RBAC objects, and each user's rules taken from it.

The index is built from the store's current Roles, ClusterRoles and bindings (the authorizer rebuilds it after
any of them changes, never per request). It maps each subject (a user name, a group; a ServiceAccount subject is
the user name kube-apiserver gives its tokens) to the grants of the bindings naming it. A user's rules are the
union over its name and groups, computed once per identity and kept with the decisions already taken for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..auth import UserInfo
from ..storage.store import Store
from .rules import Attributes, Rule, compile_rules
from .types import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
_MAX_DECISIONS = 4096  # per identity; a client walking many names must not grow the cache without bound


@dataclass(frozen=True, slots=True)
class Grant:
    """The rules one binding gives its subjects, and in which namespace ("" for every namespace)."""

    namespace: str
    rules: tuple[Rule, ...]
    source: str  # e.g. `RoleBinding "viewers/team-a" of ClusterRole "view"`, for reasons


@dataclass
class UserRules:
    """One identity's grants, and the decisions already taken for it."""

    cluster: list[tuple[Grant, str]] = field(default_factory=list)  # (grant, the subject that matched)
    namespaced: dict[str, list[tuple[Grant, str]]] = field(default_factory=dict)
    decisions: dict[Attributes, bool] = field(default_factory=dict)
    names_matter: bool = False  # whether any rule has resourceNames; if none, decisions are kept without the name

    def allows(self, attrs: Attributes) -> bool:
        if not self.names_matter and attrs.name:
            attrs = attrs._replace(name="")  # a controller reading many objects by name then hits the cache
        decided = self.decisions.get(attrs)
        if decided is None:
            decided = self.reason(attrs) is not None
            if len(self.decisions) >= _MAX_DECISIONS:
                self.decisions.clear()
            self.decisions[attrs] = decided
        return decided

    def grants_for(self, namespace: str) -> Iterable[tuple[Grant, str]]:
        """The grants that apply to requests in `namespace` ("" for cluster-scoped requests)."""
        yield from self.cluster
        if namespace:
            yield from self.namespaced.get(namespace, ())

    def reason(self, attrs: Attributes) -> str | None:
        """Why the request is allowed (kube's wording), or None when no grant allows it."""
        for grant, subject in self.grants_for(attrs.namespace):
            if any(rule.allows(attrs) for rule in grant.rules):
                return f"RBAC: allowed by {grant.source} to {subject}"
        return None

    def rules_in(self, namespace: str) -> list[Rule]:
        """Every rule that applies in `namespace`, each once (the rules review lists these)."""
        return list(dict.fromkeys(rule for grant, _ in self.grants_for(namespace) for rule in grant.rules))


def _items(store: Store, prefix: str) -> list[dict[str, Any]]:
    records, _ = store.list(prefix)
    return [record.value for record in records]


def _subject_key(subject: Any, binding_namespace: str) -> tuple[str, str] | None:
    """("User"|"Group", name) a binding subject matches, or None for one that can match nobody."""
    if not isinstance(subject, dict) or not isinstance(subject.get("name"), str):
        return None
    kind, name = subject.get("kind"), subject["name"]
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return ("User", f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}") if namespace else None
    if kind in ("User", "Group"):
        return kind, name
    return None


def describe_subject(key: tuple[str, str]) -> str:
    return f'{key[0]} "{key[1]}"'


class RBACIndex:
    """The grants of every binding, by the subject they name."""

    def __init__(self, store: Store) -> None:
        cluster_roles = {role["metadata"]["name"]: compile_rules(role.get("rules"))
                         for role in _items(store, CLUSTER_ROLES.storage_prefix)}
        roles = {(role["metadata"].get("namespace", ""), role["metadata"]["name"]): compile_rules(role.get("rules"))
                 for role in _items(store, ROLES.storage_prefix)}
        self._by_subject: dict[tuple[str, str], list[Grant]] = defaultdict(list)
        for binding in _items(store, CLUSTER_ROLE_BINDINGS.storage_prefix):
            ref = binding.get("roleRef") or {}
            if ref.get("kind") != "ClusterRole":
                continue
            name = binding["metadata"]["name"]
            grant = Grant("", cluster_roles.get(ref.get("name", ""), ()),
                          f'ClusterRoleBinding "{name}" of ClusterRole "{ref.get("name")}"')
            self._add(binding, grant, "")
        for binding in _items(store, ROLE_BINDINGS.storage_prefix):
            ref = binding.get("roleRef") or {}
            meta = binding["metadata"]
            namespace = meta.get("namespace", "")
            if ref.get("kind") == "ClusterRole":
                rules = cluster_roles.get(ref.get("name", ""), ())
            elif ref.get("kind") == "Role":
                rules = roles.get((namespace, ref.get("name", "")), ())
            else:
                continue
            self._add(binding, Grant(namespace, rules, f'RoleBinding "{meta["name"]}/{namespace}" of '
                                                      f'{ref.get("kind")} "{ref.get("name")}"'), namespace)

    def _add(self, binding: dict[str, Any], grant: Grant, namespace: str) -> None:
        if not grant.rules:
            return
        subjects = binding.get("subjects")
        for subject in subjects if isinstance(subjects, list) else ():
            key = _subject_key(subject, namespace)
            if key is not None:
                self._by_subject[key].append(grant)

    def rules_of(self, user: UserInfo) -> UserRules:
        out = UserRules()
        for key in (("User", user.name), *(("Group", group) for group in user.groups)):
            for grant in self._by_subject.get(key, ()):
                entry = (grant, describe_subject(key))
                if grant.namespace:
                    out.namespaced.setdefault(grant.namespace, []).append(entry)
                else:
                    out.cluster.append(entry)
                out.names_matter = out.names_matter or any(rule.resource_names for rule in grant.rules)
        return out

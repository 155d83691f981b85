"""RBAC writes cannot grant more than the writer holds, as kube-apiserver's RBAC storage ensures.

A Role or ClusterRole may be created or changed only with rules the writer already holds where the role applies
(its namespace, or the whole cluster), unless the writer may `escalate` roles there; an `aggregationRule` needs
every permission. A binding may be created or changed only when the writer holds every rule of the role it
refers to in the binding's namespace, or may `bind` that role. Requests from system:masters and the server's
own writes skip the check. The plug-in also validates RBAC objects and defaults their subjects' apiGroup.
"""

from __future__ import annotations

import json
from typing import Any

from .. import errors
from ..admission.base import Admission, AdmissionAttributes
from ..auth import UserInfo
from ..resources import ResourceType
from ..storage.store import Store
from .authorizer import MASTERS, Authorizer
from .rules import EVERYTHING, Attributes, Rule, compile_rules
from .types import CLUSTER_ROLES, GROUP, RBAC_TYPES, ROLE_KINDS, ROLES
from .validation import rbac_causes


def _atoms(rule: Rule) -> list[Rule]:
    """A rule broken into rules of one verb, group, resource and name each (or one verb and URL)."""
    if rule.non_resource_urls:
        return [Rule(frozenset({v}), non_resource_urls=(u,)) for v in sorted(rule.verbs)
                for u in rule.non_resource_urls]
    names: list[frozenset[str]] = [frozenset({n}) for n in sorted(rule.resource_names)] or [frozenset()]
    return [Rule(frozenset({v}), frozenset({g}), frozenset({r}), n)
            for v in sorted(rule.verbs) for g in sorted(rule.api_groups) for r in sorted(rule.resources)
            for n in names]


def _has(owned: frozenset[str], value: str) -> bool:
    return "*" in owned or value in owned


def _covers(owner: Rule, atom: Rule) -> bool:
    (verb,) = atom.verbs
    if not _has(owner.verbs, verb):
        return False
    if atom.non_resource_urls:
        (url,) = atom.non_resource_urls
        return any(own == url or (own.endswith("*") and url.startswith(own[:-1])) for own in owner.non_resource_urls)
    (group,), (resource,) = atom.api_groups, atom.resources
    if owner.non_resource_urls or not _has(owner.api_groups, group):
        return False
    if not _has(owner.resources, resource) and not (
            "/" in resource and f"*/{resource.split('/', 1)[1]}" in owner.resources):
        return False
    return not owner.resource_names or bool(atom.resource_names & owner.resource_names)


def uncovered(owned: list[Rule], requested: tuple[Rule, ...]) -> list[Rule]:
    """The single-permission rules of `requested` that no rule in `owned` covers."""
    return [atom for rule in requested for atom in _atoms(rule) if not any(_covers(own, atom) for own in owned)]


def _compact(rule: Rule) -> str:
    def q(values: Any) -> str:
        return "[" + " ".join(json.dumps(v) for v in sorted(values)) + "]"

    if rule.non_resource_urls:
        return f"{{NonResourceURLs:{q(rule.non_resource_urls)}, Verbs:{q(rule.verbs)}}}"
    names = f", ResourceNames:{q(rule.resource_names)}" if rule.resource_names else ""
    return f"{{APIGroups:{q(rule.api_groups)}, Resources:{q(rule.resources)}{names}, Verbs:{q(rule.verbs)}}}"


def escalation_error(user: UserInfo, plural: str, name: str, missing: list[Rule]) -> errors.StatusError:
    groups = "[" + " ".join(json.dumps(g) for g in user.groups) + "]"
    detail = "\n".join(_compact(rule) for rule in missing)
    return errors.StatusError(
        403, "Forbidden", f'{plural}.{GROUP} "{name}" is forbidden: user "{user.name}" (groups={groups}) is '
        f"attempting to grant RBAC permissions not currently held:\n{detail}", name=name, group=GROUP, kind=plural)


def _is_rbac(rtype: ResourceType) -> bool:
    # by identity: `in` would compare every write's type field by field with each RBAC type
    return any(rtype is rbac for rbac in RBAC_TYPES)


class RBACAdmission:
    """Wraps the server's admission: RBAC objects are validated and checked for escalation first."""

    def __init__(self, inner: Admission, authorizer: Authorizer, store: Store) -> None:
        self.inner, self.authorizer, self.store = inner, authorizer, store

    async def mutate(self, attrs: AdmissionAttributes) -> dict[str, Any] | None:
        if _is_rbac(attrs.rtype) and attrs.obj is not None:
            for subject in attrs.obj.get("subjects") or []:  # kube's defaulting of User and Group subjects
                if isinstance(subject, dict) and subject.get("kind") in ("User", "Group") \
                        and not subject.get("apiGroup"):
                    subject["apiGroup"] = GROUP
        return await self.inner.mutate(attrs)

    async def validate(self, attrs: AdmissionAttributes) -> None:
        if _is_rbac(attrs.rtype) and attrs.obj is not None and attrs.operation in ("CREATE", "UPDATE"):
            causes = rbac_causes(attrs.rtype, attrs.obj, attrs.old)
            if causes:
                raise errors.invalid(GROUP, attrs.rtype.kind, attrs.name, causes)
            if attrs.user is not None and MASTERS not in attrs.user.groups:
                self._check_escalation(attrs, attrs.user, attrs.obj, attrs.old)
        await self.inner.validate(attrs)

    def _check_escalation(self, attrs: AdmissionAttributes, user: UserInfo, obj: dict[str, Any],
                          old: dict[str, Any] | None) -> None:
        rtype, namespace = attrs.rtype, attrs.namespace if attrs.rtype.namespaced else ""
        if rtype is ROLES or rtype is CLUSTER_ROLES:
            if old is not None and obj.get("rules") == old.get("rules") \
                    and obj.get("aggregationRule") == old.get("aggregationRule"):
                return
            escalate = Attributes("escalate", True, GROUP, rtype.plural, "", namespace, attrs.name)
            if self.authorizer.authorize(user, escalate):
                return
            requested = EVERYTHING if obj.get("aggregationRule") else compile_rules(obj.get("rules"))
        else:
            if old is not None and obj.get("roleRef") == old.get("roleRef") \
                    and obj.get("subjects") == old.get("subjects"):
                return
            ref = obj.get("roleRef") or {}
            role_type = ROLE_KINDS.get(ref.get("kind", ""), CLUSTER_ROLES)
            bind = Attributes("bind", True, GROUP, role_type.plural, "", namespace, str(ref.get("name", "")))
            if self.authorizer.authorize(user, bind):
                return
            role = self.store.get(role_type.key(namespace if role_type is ROLES else "", str(ref.get("name", ""))))
            requested = compile_rules(role.value.get("rules")) if role is not None else ()
        missing = uncovered(self.authorizer.rules(user, namespace), requested)
        if missing:
            raise escalation_error(user, rtype.plural, attrs.name, missing)


"""What a request asks to do (`Attributes`), and whether one RBAC PolicyRule grants it (`Rule`).

Matching follows kube-apiserver's RBAC: `*` in verbs, apiGroups or resources matches anything; a resource rule
names subresources as `resource/subresource` (and `*/subresource` for any resource's); `resourceNames` restricts
a rule to requests naming one of them (so never to a create or a list); a non-resource URL matches exactly, or
by prefix when it ends with `*`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import StatusError
from ..routing import ResourcePath
from ..selectors import FieldSelector

_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
_WATCH_VALUES = frozenset({"true", "1"})


class Attributes(NamedTuple):
    """One request as the authorizer sees it (kube's authorizer.Attributes without the user).

    A NamedTuple: it is the key of the per-user decision cache, and tuples hash in C."""

    verb: str
    resource_request: bool
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


def resource_attributes(method: str, query: Mapping[str, str], path: ResourcePath) -> Attributes:
    """The verb and resource a resource URL request asks for, as kube-apiserver's request info reads them."""
    name = path.name
    if method in ("GET", "HEAD"):
        verb = "get" if name else "watch" if query.get("watch", "").lower() in _WATCH_VALUES else "list"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _METHOD_VERBS.get(method) or method.lower()
    if not name and verb in ("list", "watch", "deletecollection"):
        name = _single_name(query.get("fieldSelector", ""))  # `kubectl get X -w` is allowed by resourceNames: [X]
    namespace = path.namespace
    if path.group == "" and path.resource == "namespaces":
        namespace = name  # a namespace is inside itself: a RoleBinding there grants reading it
    return Attributes(verb, True, path.group, path.resource, path.subresource, namespace, name)


def non_resource_attributes(method: str, path: str) -> Attributes:
    """A request for a path that is not a resource (discovery, OpenAPI, /version, health checks)."""
    return Attributes(method.lower() if method != "HEAD" else "get", False, path=path)


def _single_name(field_selector: str) -> str:
    if "metadata.name" not in field_selector:
        return ""
    try:
        selector = FieldSelector.parse(field_selector)
    except StatusError:  # the list itself answers the bad selector; authorization just does not narrow by name
        return ""
    names = [r.value for r in selector.requirements if r.field == "metadata.name" and r.operator in ("=", "==")]
    return names[0] if len(names) == 1 else ""


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled PolicyRule."""

    verbs: frozenset[str]
    api_groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> Rule:
        return cls(frozenset(_strings(rule.get("verbs"))), frozenset(_strings(rule.get("apiGroups"))),
                   frozenset(_strings(rule.get("resources"))), frozenset(_strings(rule.get("resourceNames"))),
                   _strings(rule.get("nonResourceURLs")))

    def to_dict(self) -> dict[str, Any]:
        """The PolicyRule (lists sorted, empty fields left out), as stored and as the rules review lists it."""
        out: dict[str, Any] = {"verbs": sorted(self.verbs)}
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
            return out
        out["apiGroups"] = sorted(self.api_groups)
        out["resources"] = sorted(self.resources)
        if self.resource_names:
            out["resourceNames"] = sorted(self.resource_names)
        return out

    def allows(self, attrs: Attributes) -> bool:
        if "*" not in self.verbs and attrs.verb not in self.verbs:
            return False
        if not attrs.resource_request:
            return any(url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url[:-1]))
                       for url in self.non_resource_urls)
        if "*" not in self.api_groups and attrs.api_group not in self.api_groups:
            return False
        if not self._resource_matches(attrs.resource, attrs.subresource):
            return False
        return not self.resource_names or attrs.name in self.resource_names

    def _resource_matches(self, resource: str, subresource: str) -> bool:
        resources = self.resources
        if "*" in resources:
            return True
        if subresource:
            return f"{resource}/{subresource}" in resources or f"*/{subresource}" in resources
        return resource in resources


def compile_rules(rules: Any) -> tuple[Rule, ...]:
    """The PolicyRules of a role (`rules`, as stored); malformed entries grant nothing."""
    if not isinstance(rules, list):
        return ()
    return tuple(Rule.from_dict(rule) for rule in rules if isinstance(rule, dict))


EVERYTHING = (Rule(frozenset({"*"}), frozenset({"*"}), frozenset({"*"})),
              Rule(frozenset({"*"}), non_resource_urls=("*",)))
"""cluster-admin's rules: every verb on every resource and every non-resource URL."""

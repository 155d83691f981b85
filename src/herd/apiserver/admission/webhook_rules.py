"""Admission webhooks as the dispatcher sees them: parsed from their configurations, and matched to requests.

Matching follows kube-apiserver (admissionregistration.k8s.io/v1): a webhook is called when one of its
`rules` matches the request (operation, group, version, resource/subresource, scope), its `namespaceSelector`
matches the labels of the request's namespace and its `objectSelector` matches the new or the old object.
`matchPolicy: Equivalent` is treated as `Exact`: a request is matched only by its own group/version/resource.

Parsing is tolerant on purpose. A stored configuration may predate validation, and one malformed webhook must
neither break every write nor silently stop guarding them: what cannot be understood is kept as `problem`,
and such a webhook fails under its failurePolicy whenever its rules match.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import errors
from ..errors import StatusError
from ..resources import ResourceType
from ..selectors import LabelSelector
from .base import AdmissionAttributes

ALL = "*"
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
SCOPES = ("Cluster", "Namespaced", ALL)
FAIL, IGNORE = "Fail", "Ignore"
SIDE_EFFECT_FREE = ("None", "NoneOnDryRun")  # the classes that may be called on a dry run
DEFAULT_TIMEOUT_SECONDS = 10
MAX_TIMEOUT_SECONDS = 30
ADMISSION_GROUP = "admissionregistration.k8s.io"

NamespaceLabels = Callable[[str], dict[str, str] | None]
"""Labels of a namespace by name; None when the namespace does not exist."""


@dataclass(frozen=True)
class Rule:
    """One entry of a webhook's `rules`: every listed dimension must match (`*` matches anything)."""

    operations: frozenset[str]
    api_groups: frozenset[str]
    api_versions: frozenset[str]
    resources: tuple[tuple[str, str], ...]  # (resource, subresource); "pods/status" -> ("pods", "status")
    scope: str = ALL

    def matches(self, attrs: AdmissionAttributes) -> bool:
        """Whether a request is covered by this rule."""
        rtype = attrs.rtype
        return (_covers(self.operations, attrs.operation) and _covers(self.api_groups, rtype.group)
                and _covers(self.api_versions, rtype.version)
                and self._resource_matches(rtype.plural, attrs.subresource) and self._scope_matches(rtype))

    def _resource_matches(self, resource: str, subresource: str) -> bool:
        # A plain "pods" (or "*") only matches requests on the object itself, never on a subresource.
        return any((res in (ALL, resource)) and (sub in (ALL, subresource)) for res, sub in self.resources)

    def _scope_matches(self, rtype: ResourceType) -> bool:
        if self.scope == "Cluster":
            # Namespace objects are cluster-scoped even though they "have" a namespace (their own name).
            return is_namespace(rtype) or not rtype.namespaced
        if self.scope == "Namespaced":
            return rtype.namespaced and not is_namespace(rtype)
        return self.scope == ALL


@dataclass(frozen=True)
class Webhook:
    """One webhook of a Mutating- or ValidatingWebhookConfiguration, with kube's defaults filled in."""

    name: str
    configuration: str
    mutating: bool
    rules: tuple[Rule, ...] = ()
    failure_policy: str = FAIL
    side_effects: str = ""
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    review_versions: tuple[str, ...] = ()
    url: str = ""  # where to POST; a service reference is resolved to https://<name>.<namespace>.svc:<port><path>
    ca_bundle: str = field(default="", repr=False)  # PEM; "" means the system trust store
    namespace_selector: LabelSelector = field(default_factory=LabelSelector)
    object_selector: LabelSelector = field(default_factory=LabelSelector)
    match_conditions: int = 0  # how many CEL matchConditions it has (this server cannot evaluate CEL)
    problem: str = ""  # why it cannot be called as configured; "" when it can

    @property
    def fails_open(self) -> bool:
        """Whether a failure to call this webhook lets the request through (failurePolicy: Ignore)."""
        return self.failure_policy == IGNORE


def is_namespace(rtype: ResourceType) -> bool:
    """Whether `rtype` is core/v1 namespaces, which admission treats specially in several places."""
    return rtype.group == "" and rtype.plural == "namespaces"


def is_exempt(rtype: ResourceType) -> bool:
    """Webhooks are never called for admission configuration objects: a broken webhook could lock itself in."""
    return rtype.group == ADMISSION_GROUP


def request_namespace(attrs: AdmissionAttributes) -> str:
    """The request's namespace as kube-apiserver reports it to webhooks.

    For a Namespace object it is the namespace's own name, except on create (whose URL has no name).
    """
    if is_namespace(attrs.rtype):
        return "" if attrs.operation == "CREATE" else attrs.name
    return attrs.namespace if attrs.rtype.namespaced else ""


def labels_of(obj: dict[str, Any] | None) -> dict[str, str]:
    """An object's labels ({} when absent or malformed)."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def rules_match(hook: Webhook, attrs: AdmissionAttributes) -> bool:
    """Whether any of the webhook's rules covers the request."""
    return any(rule.matches(attrs) for rule in hook.rules)


def namespace_selected(hook: Webhook, attrs: AdmissionAttributes, obj: dict[str, Any] | None,
                       namespace_labels: NamespaceLabels) -> bool:
    """Whether the request's namespace matches `namespaceSelector`.

    Cluster-scoped objects other than namespaces always match. A Namespace being created or updated is
    judged by its own (new) labels. A missing namespace is 404 NotFound, as in kube-apiserver.
    """
    rtype = attrs.rtype
    if hook.namespace_selector.empty() or (not rtype.namespaced and not is_namespace(rtype)):
        return True
    if is_namespace(rtype) and not attrs.subresource and attrs.operation in ("CREATE", "UPDATE"):
        return hook.namespace_selector.matches(labels_of(obj))
    name = attrs.name if is_namespace(rtype) else attrs.namespace
    labels = namespace_labels(name)
    if labels is None:
        raise errors.not_found("", "namespaces", name)
    return hook.namespace_selector.matches(labels)


def object_selected(hook: Webhook, obj: dict[str, Any] | None, old: dict[str, Any] | None) -> bool:
    """Whether `objectSelector` matches the new object or the old one (either is enough)."""
    selector = hook.object_selector
    if selector.empty():
        return True
    return any(o is not None and selector.matches(labels_of(o)) for o in (obj, old))


# ------------------------------------------------------------------------------------------------ parsing


def parse_configuration(config: dict[str, Any], mutating: bool) -> list[Webhook]:
    """The webhooks of one configuration object, in the order they are listed."""
    meta = config.get("metadata")
    name = str(meta.get("name") or "") if isinstance(meta, dict) else ""
    hooks = config.get("webhooks")
    if not isinstance(hooks, list):
        return []
    return [_parse_webhook(raw, name, mutating, i) for i, raw in enumerate(hooks)]


def _parse_webhook(raw: Any, configuration: str, mutating: bool, index: int) -> Webhook:
    if not isinstance(raw, dict):
        return Webhook(f"{configuration}[{index}]", configuration, mutating, problem="malformed webhook entry")
    problems: list[str] = []
    name = str(raw.get("name") or f"{configuration}[{index}]")
    rules = tuple(_parse_rule(r) for r in _list(raw.get("rules")) if isinstance(r, dict))
    policy = raw.get("failurePolicy") or FAIL
    if policy not in (FAIL, IGNORE):
        problems.append(f"unsupported failurePolicy {policy!r}")
        policy = FAIL  # an unknown policy must not fail open
    timeout = raw.get("timeoutSeconds")
    if not isinstance(timeout, int) or isinstance(timeout, bool):
        timeout = DEFAULT_TIMEOUT_SECONDS
    url, ca_bundle, client_problem = _parse_client_config(raw.get("clientConfig"))
    if client_problem:
        problems.append(client_problem)
    namespace_selector = _parse_selector(raw.get("namespaceSelector"), "namespaceSelector", problems)
    object_selector = _parse_selector(raw.get("objectSelector"), "objectSelector", problems)
    return Webhook(
        name=name, configuration=configuration, mutating=mutating, rules=rules, failure_policy=str(policy),
        side_effects=str(raw.get("sideEffects") or ""),
        timeout_seconds=min(max(timeout, 1), MAX_TIMEOUT_SECONDS),
        review_versions=tuple(str(v) for v in _list(raw.get("admissionReviewVersions"))),
        url=url, ca_bundle=ca_bundle, namespace_selector=namespace_selector, object_selector=object_selector,
        match_conditions=len(_list(raw.get("matchConditions"))), problem="; ".join(problems),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _parse_rule(raw: dict[str, Any]) -> Rule:
    def strings(key: str) -> frozenset[str]:
        return frozenset(str(v) for v in _list(raw.get(key)))

    resources = tuple(_split_resource(str(r)) for r in _list(raw.get("resources")))
    scope = raw.get("scope") or ALL
    # An unknown scope matches nothing rather than everything.
    return Rule(strings("operations"), strings("apiGroups"), strings("apiVersions"), resources,
                str(scope) if scope in SCOPES else "")


def _split_resource(value: str) -> tuple[str, str]:
    resource, _, subresource = value.partition("/")
    return resource, subresource


def _covers(values: frozenset[str], value: str) -> bool:
    return ALL in values or value in values


def _parse_selector(raw: Any, what: str, problems: list[str]) -> LabelSelector:
    if raw is None:
        return LabelSelector()
    try:
        return LabelSelector.from_label_selector(raw)
    except StatusError as exc:
        problems.append(f"invalid {what}: {exc.message}")
        return LabelSelector()


def _parse_client_config(raw: Any) -> tuple[str, str, str]:
    """(url, PEM CA bundle, problem) of a clientConfig; never echoes anything that may hold a secret."""
    if not isinstance(raw, dict):
        return "", "", "clientConfig is missing"
    ca_bundle = ""
    if raw.get("caBundle"):
        try:
            ca_bundle = base64.b64decode(str(raw["caBundle"]), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return "", "", "clientConfig.caBundle is not base64-encoded PEM"
    url, service = raw.get("url"), raw.get("service")
    if bool(url) == bool(service):
        return "", ca_bundle, "clientConfig must set exactly one of url or service"
    if url:
        problem = url_problem(str(url))
        return ("", ca_bundle, f"clientConfig.url: {problem}") if problem else (str(url), ca_bundle, "")
    if not isinstance(service, dict) or not service.get("name") or not service.get("namespace"):
        return "", ca_bundle, "clientConfig.service needs a name and a namespace"
    port = service.get("port") or 443
    path = str(service.get("path") or "/")
    if not path.startswith("/"):
        path = "/" + path
    return f"https://{service['name']}.{service['namespace']}.svc:{port}{path}", ca_bundle, ""


def url_problem(url: str) -> str:
    """Why `url` cannot be a webhook URL ("" when it can). The URL itself is never quoted: it may hold secrets."""
    form = "; desired format: https://host[/path]"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return "url must be a valid URL" + form
    if parts.scheme != "https":
        return "'https' is the only allowed URL scheme" + form
    if not parts.hostname:
        return "host must be specified" + form
    if "@" in parts.netloc:
        return "user information is not permitted in the URL"
    if parts.fragment or url.endswith("#"):
        return "fragments are not permitted in the URL"
    if parts.query or url.endswith("?"):
        return "query parameters are not permitted in the URL"
    return ""

"""Defaulting and validation of Mutating/ValidatingWebhookConfiguration objects (admissionregistration.k8s.io/v1).

kube-apiserver stores these objects with their defaults filled in and refuses invalid ones with 422 and one
cause per problem; the messages below follow its wording (`Required value`, `Unsupported value: ...`).
Deliberate difference: values that may carry a secret (URL user information and query strings, the CA bundle)
are never quoted back.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import urlsplit

from ..errors import Cause, StatusError
from ..objectmeta import name_problem
from ..selectors import LabelSelector
from .webhook_rules import ALL, FAIL, IGNORE, MAX_TIMEOUT_SECONDS, OPERATIONS, SCOPES, SIDE_EFFECT_FREE, url_problem

_REVIEW_VERSIONS = ("v1", "v1beta1")
_REDACTED = '"<redacted>"'


def apply_defaults(config: dict[str, Any], mutating: bool) -> None:
    """Fill in what kube-apiserver defaults, in place, so stored objects read back as they would from kube."""
    for hook in config.get("webhooks") or []:
        if not isinstance(hook, dict):
            continue
        defaults: dict[str, Any] = {"failurePolicy": FAIL, "matchPolicy": "Equivalent", "namespaceSelector": {},
                                    "objectSelector": {}, "timeoutSeconds": 10}
        if mutating:
            defaults["reinvocationPolicy"] = "Never"
        for key, value in defaults.items():
            if hook.get(key) is None:  # an explicit null means unset, as in Go
                hook[key] = value
        for rule in hook.get("rules") or []:
            if isinstance(rule, dict) and rule.get("scope") is None:
                rule["scope"] = ALL
        client = hook.get("clientConfig")
        service = client.get("service") if isinstance(client, dict) else None
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = 443


def configuration_causes(config: dict[str, Any], mutating: bool) -> list[Cause]:
    """Everything wrong with a webhook configuration, as 422 causes ([] when it is valid)."""
    hooks = config.get("webhooks")
    if hooks is None:
        return []
    if not isinstance(hooks, list):
        return [_invalid_type("webhooks", "must be a list")]
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, hook in enumerate(hooks):
        path = f"webhooks[{i}]"
        if not isinstance(hook, dict):
            causes.append(_invalid_type(path, "must be an object"))
            continue
        name = hook.get("name")
        causes += _name_causes(f"{path}.name", name)
        if isinstance(name, str) and name:
            if name in seen:
                causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_go(name)}", f"{path}.name"))
            seen.add(name)
        causes += _webhook_causes(path, hook, mutating)
    return causes


def _webhook_causes(path: str, hook: dict[str, Any], mutating: bool) -> list[Cause]:
    causes: list[Cause] = []
    rules = hook.get("rules")
    if rules is not None and not isinstance(rules, list):
        causes.append(_invalid_type(f"{path}.rules", "must be a list"))
    for j, rule in enumerate(rules if isinstance(rules, list) else []):
        causes += _rule_causes(f"{path}.rules[{j}]", rule)
    causes += _enum_cause(f"{path}.failurePolicy", hook.get("failurePolicy"), (FAIL, IGNORE))
    causes += _enum_cause(f"{path}.matchPolicy", hook.get("matchPolicy"), ("Equivalent", "Exact"))
    if mutating:
        causes += _enum_cause(f"{path}.reinvocationPolicy", hook.get("reinvocationPolicy"), ("IfNeeded", "Never"))
    side_effects = hook.get("sideEffects")
    if side_effects is None:
        causes.append(Cause("FieldValueRequired", "Required value: must specify one of None, NoneOnDryRun",
                            f"{path}.sideEffects"))
    else:
        causes += _enum_cause(f"{path}.sideEffects", side_effects, SIDE_EFFECT_FREE)
    timeout = hook.get("timeoutSeconds")
    if timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool)
                                or not 1 <= timeout <= MAX_TIMEOUT_SECONDS):
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {_go(timeout)}: the timeout value must be "
                            f"between 1 and {MAX_TIMEOUT_SECONDS} seconds", f"{path}.timeoutSeconds"))
    causes += _review_version_causes(f"{path}.admissionReviewVersions", hook.get("admissionReviewVersions"))
    causes += _client_config_causes(f"{path}.clientConfig", hook.get("clientConfig"))
    for selector in ("namespaceSelector", "objectSelector"):
        causes += _selector_causes(f"{path}.{selector}", hook.get(selector))
    causes += _match_condition_causes(f"{path}.matchConditions", hook.get("matchConditions"))
    return causes


def _name_causes(field: str, name: Any) -> list[Cause]:
    """Webhook names must be fully qualified: a DNS subdomain with at least three segments."""
    if not name:
        return [Cause("FieldValueRequired", "Required value", field)]
    if not isinstance(name, str):
        return [_invalid_type(field, "must be a string")]
    problem = name_problem(name)
    if not problem and len(name.split(".")) < 3:
        problem = "should be a domain with at least three segments separated by dots"
    return [Cause("FieldValueInvalid", f"Invalid value: {_go(name)}: {problem}", field)] if problem else []


def _rule_causes(path: str, rule: Any) -> list[Cause]:
    if not isinstance(rule, dict):
        return [_invalid_type(path, "must be an object")]
    causes: list[Cause] = []
    lists: dict[str, list[str]] = {}
    for key in ("operations", "apiGroups", "apiVersions", "resources"):
        value = rule.get(key)
        if value is None or value == []:
            causes.append(Cause("FieldValueRequired", "Required value", f"{path}.{key}"))
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            causes.append(_invalid_type(f"{path}.{key}", "must be a list of strings"))
        else:
            lists[key] = value
    operations = lists.get("operations", [])
    for k, op in enumerate(operations):
        causes += _enum_cause(f"{path}.operations[{k}]", op, (ALL, *OPERATIONS))
    for key, what in (("operations", "operations"), ("apiGroups", "API groups"), ("apiVersions", "API versions")):
        values = lists.get(key, [])
        if ALL in values and len(values) > 1:
            causes.append(Cause("FieldValueInvalid", f"Invalid value: {_go(values)}: if '*' is present, must not "
                                f"specify other {what}", f"{path}.{key}"))
    for k, version in enumerate(lists.get("apiVersions", [])):
        if not version:
            causes.append(Cause("FieldValueRequired", "Required value", f"{path}.apiVersions[{k}]"))
    causes += _resource_causes(f"{path}.resources", lists.get("resources", []))
    if rule.get("scope") is not None:
        causes += _enum_cause(f"{path}.scope", rule["scope"], SCOPES)
    return causes


def _resource_causes(path: str, resources: list[str]) -> list[Cause]:
    causes: list[Cause] = []
    for k, resource in enumerate(resources):
        if not resource:
            causes.append(Cause("FieldValueRequired", "Required value", f"{path}[{k}]"))
    if "*/*" in resources and len(resources) > 1:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {_go(resources)}: if '*/*' is present, must not "
                            "specify other resources", path))
    if ALL in resources and any(r != ALL and "/" not in r for r in resources):
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {_go(resources)}: if '*' is present, must not "
                            "specify other resources without subresources", path))
    return causes


def _review_version_causes(field: str, versions: Any) -> list[Cause]:
    if not versions:
        return [Cause("FieldValueRequired", "Required value: must specify one of v1, v1beta1", field)]
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        return [_invalid_type(field, "must be a list of strings")]
    causes: list[Cause] = []
    for k, version in enumerate(versions):
        if version in versions[:k]:
            causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_go(version)}", f"{field}[{k}]"))
    if not any(v in _REVIEW_VERSIONS for v in versions):
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {_go(versions)}: must include at least one of "
                            "v1, v1beta1", field))
    return causes


def _client_config_causes(field: str, client: Any) -> list[Cause]:
    if not isinstance(client, dict) or bool(client.get("url")) == bool(client.get("service")):
        return [Cause("FieldValueRequired", "Required value: exactly one of url or service is required", field)]
    causes: list[Cause] = []
    bundle = client.get("caBundle")
    if bundle is not None:
        try:
            base64.b64decode(str(bundle), validate=True)
        except (binascii.Error, ValueError):
            causes.append(Cause("FieldValueInvalid", "Invalid value: must be base64-encoded PEM",
                                f"{field}.caBundle"))
    if client.get("url"):
        causes += _url_causes(f"{field}.url", client["url"])
    else:
        causes += _service_causes(f"{field}.service", client["service"])
    return causes


def _url_causes(field: str, url: Any) -> list[Cause]:
    if not isinstance(url, str):
        return [_invalid_type(field, "must be a string")]
    problem = url_problem(url)
    if not problem:
        return []
    if problem.startswith("url must"):
        return [Cause("FieldValueRequired", f"Required value: {problem}", field)]
    parts = urlsplit(url)  # parses: url_problem found no syntax error
    # Quote only what cannot hold a secret (the scheme, the host); never user information or a query.
    value = _REDACTED
    if problem.startswith("'https'"):
        value = _go(parts.scheme)
    elif problem.startswith("host must"):
        value = _go(parts.hostname or "")
    return [Cause("FieldValueInvalid", f"Invalid value: {value}: {problem}", field)]


def _service_causes(field: str, service: Any) -> list[Cause]:
    if not isinstance(service, dict):
        return [_invalid_type(field, "must be an object")]
    causes: list[Cause] = []
    for key in ("name", "namespace"):
        if not service.get(key):
            causes.append(Cause("FieldValueRequired", f"Required value: service {key} is required", f"{field}.{key}"))
    port = service.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535):
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {_go(port)}: port is not valid: must be between "
                            "1 and 65535, inclusive", f"{field}.port"))
    path = service.get("path")
    if path not in (None, "", "/"):
        if not isinstance(path, str) or not path.startswith("/"):
            causes.append(Cause("FieldValueInvalid", f"Invalid value: {_go(path)}: must start with a '/'",
                                f"{field}.path"))
        else:
            segments = path[1:].split("/")
            for k, segment in enumerate(segments):
                if not segment and k != len(segments) - 1:
                    causes.append(Cause("FieldValueInvalid", f"Invalid value: {_go(path)}: segment[{k}] may not "
                                        "be empty", f"{field}.path"))
    return causes


def _selector_causes(field: str, selector: Any) -> list[Cause]:
    if selector is None:
        return []
    try:
        LabelSelector.from_label_selector(selector)
    except StatusError as exc:
        return [Cause("FieldValueInvalid", f"Invalid value: {exc.message}", field)]
    return []


def _match_condition_causes(field: str, conditions: Any) -> list[Cause]:
    # Only the shape is checked: the CEL expressions themselves are not compiled (or evaluated) by this server.
    if conditions is None:
        return []
    if not isinstance(conditions, list):
        return [_invalid_type(field, "must be a list")]
    causes: list[Cause] = []
    names: set[str] = set()
    for k, condition in enumerate(conditions):
        if not isinstance(condition, dict):
            causes.append(_invalid_type(f"{field}[{k}]", "must be an object"))
            continue
        for key in ("name", "expression"):
            if not condition.get(key):
                causes.append(Cause("FieldValueRequired", "Required value", f"{field}[{k}].{key}"))
        name = condition.get("name")
        if isinstance(name, str) and name in names:
            causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_go(name)}", f"{field}[{k}].name"))
        names.add(str(name))
    return causes


def _enum_cause(field: str, value: Any, supported: tuple[str, ...]) -> list[Cause]:
    if value is None or value in supported:
        return []
    listed = ", ".join(_go(s) for s in sorted(supported))
    return [Cause("FieldValueNotSupported", f"Unsupported value: {_go(value)}: supported values: {listed}", field)]


def _invalid_type(field: str, detail: str) -> Cause:
    return Cause("FieldValueTypeInvalid", f"Invalid value: {detail}", field)


def _go(value: Any) -> str:
    """A value as kube's field errors print it: strings quoted, string lists as Go slice literals."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}"
    return json.dumps(value)

"""Validation of apiextensions.k8s.io/v1 CustomResourceDefinition objects, as kube-apiserver does it.

Covers what decides whether a CRD can be served: its name and group, names, scope, versions
(one storage version, unique DNS-1035 names, a structural schema each), printer columns,
the scale subresource and conversion. Call `default_crd` first, as the API server defaults
before it validates.
"""

from __future__ import annotations

from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema import messages as m
from herd.apiserver.schema.default_rules import default_errors
from herd.apiserver.schema.names import dns1035_label_errors, dns1123_subdomain_errors
from herd.apiserver.schema.schema_rules import schema_rule_errors
from herd.apiserver.schema.structural import structural_errors

_SCOPES = ["Cluster", "Namespaced"]
_COLUMN_TYPES = "boolean,date,integer,number,string"
_COLUMN_FORMATS = "byte,date,date-time,double,float,int32,int64,password"
# Root schema keywords still allowed when the status subresource splits off `.status`.
_STATUS_ROOT_KEYWORDS = {
    "description": "Description",
    "type": "Type",
    "format": "Format",
    "title": "Title",
    "maximum": "Maximum",
    "exclusiveMaximum": "ExclusiveMaximum",
    "minimum": "Minimum",
    "exclusiveMinimum": "ExclusiveMinimum",
    "maxLength": "MaxLength",
    "minLength": "MinLength",
    "pattern": "Pattern",
    "maxItems": "MaxItems",
    "minItems": "MinItems",
    "uniqueItems": "UniqueItems",
    "multipleOf": "MultipleOf",
    "required": "Required",
    "items": "Items",
    "properties": "Properties",
    "externalDocs": "ExternalDocs",
    "example": "Example",
    "x-kubernetes-preserve-unknown-fields": "XPreserveUnknownFields",
    "x-kubernetes-validations": "XValidations",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def validate_crd(crd: dict[str, Any]) -> list[Cause]:
    """Everything wrong with a (defaulted) v1 CustomResourceDefinition; empty when it can be served."""
    errs: list[Cause] = []
    spec = _dict(crd.get("spec"))
    names = _dict(spec.get("names"))
    group, plural = _str(spec.get("group")), _str(names.get("plural"))
    name = _str(_dict(crd.get("metadata")).get("name"))
    if not name:
        errs.append(m.required("metadata.name", "name or generateName is required"))
    else:
        problems = dns1123_subdomain_errors(name)
        if name != f"{plural}.{group}":
            problems.append('must be spec.names.plural+"."+spec.group')
        errs.extend(m.invalid("metadata.name", name, p) for p in problems)
    if not isinstance(crd.get("spec"), dict):
        errs.append(m.required("spec"))
        return errs
    errs.extend(_group_errors(group))
    scope = spec.get("scope")
    if not scope:
        errs.append(m.required("spec.scope"))
    elif scope not in _SCOPES:
        errs.append(m.not_supported("spec.scope", scope, _SCOPES))
    errs.extend(_versions_errors(spec))
    errs.extend(_names_errors(names))
    errs.extend(_conversion_errors(spec.get("conversion")))
    if spec.get("preserveUnknownFields") is True:
        errs.append(
            m.invalid(
                "spec.preserveUnknownFields",
                True,
                "cannot set to true, set "
                "x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
            )
        )
    return errs


def _group_errors(group: str) -> list[Cause]:
    if not group:
        return [m.required("spec.group")]
    problems = dns1123_subdomain_errors(group)
    if problems:
        return [m.invalid("spec.group", group, ",".join(problems))]
    if "." not in group:
        return [m.invalid("spec.group", group, "should be a domain with at least one dot")]
    return []


def _versions_errors(spec: dict[str, Any]) -> list[Cause]:
    errs: list[Cause] = []
    raw_versions = spec.get("versions")
    versions = raw_versions if isinstance(raw_versions, list) else []
    for i, version in enumerate(versions):
        schema = _dict(_dict(version).get("schema")).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            errs.append(m.required(f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required"))
    seen: set[str] = set()
    unique, storage = True, 0
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(version, dict):
            errs.append(m.invalid(path, version, "must be an object"))
            continue
        storage += version.get("storage") is True
        name = _str(version.get("name"))
        unique = unique and name not in seen
        seen.add(name)
        problems = dns1035_label_errors(name)
        if problems:
            errs.append(m.invalid(f"{path}.name", name, ",".join(problems)))
        errs.extend(_version_errors(version, path))
    if not unique:
        errs.append(m.invalid("spec.versions", versions, "must contain unique version names"))
    if storage != 1:
        errs.append(
            m.invalid("spec.versions", versions, "must have exactly one version marked as storage version")
        )
    return errs


def _version_errors(version: dict[str, Any], path: str) -> list[Cause]:
    errs: list[Cause] = []
    warning = version.get("deprecationWarning")
    if warning is not None:
        field = f"{path}.deprecationWarning"
        if version.get("deprecated") is not True:
            errs.append(m.invalid(field, warning, "can only be set for deprecated versions"))
        elif not isinstance(warning, str) or not warning:
            errs.append(m.invalid(field, warning, "must not be an empty string"))
        elif len(warning.encode()) > 256:
            errs.append(m.invalid(field, warning, "must be <= 256 characters long"))
        elif not warning.isprintable():
            errs.append(m.invalid(field, warning, "must only contain printable UTF-8 characters"))
    subresources = _dict(version.get("subresources"))
    schema = _dict(version.get("schema")).get("openAPIV3Schema")
    if isinstance(schema, dict):
        errs.extend(
            _schema_errors(schema, f"{path}.schema.openAPIV3Schema", subresources.get("status") is not None)
        )
    errs.extend(_scale_errors(subresources.get("scale"), f"{path}.subresources"))
    columns = version.get("additionalPrinterColumns")
    for i, column in enumerate(columns if isinstance(columns, list) else []):
        errs.extend(_column_errors(_dict(column), f"{path}.additionalPrinterColumns[{i}]"))
    return errs


def _schema_errors(schema: dict[str, Any], path: str, status_enabled: bool) -> list[Cause]:
    errs: list[Cause] = []
    if status_enabled:
        t = schema.get("type")
        if t and t != "object":
            errs.append(
                m.invalid(
                    f"{path}.type",
                    t,
                    'only "object" is allowed as the type at the root of the '
                    "schema if the status subresource is enabled",
                )
            )
        elif any(
            v not in (None, False, "", [], {}) for k, v in schema.items() if k not in _STATUS_ROOT_KEYWORDS
        ):
            allowed = " ".join(_STATUS_ROOT_KEYWORDS.values())
            errs.append(
                m.invalid(
                    path,
                    schema,
                    f"only [{allowed}] fields are allowed at the root of the schema "
                    "if the status subresource is enabled",
                )
            )
    if schema.get("nullable") is True:
        errs.append(m.forbidden(f"{path}.nullable", "nullable cannot be true at the root"))
    structural = structural_errors(schema, path)
    errs.extend(structural)
    if not structural:
        errs.extend(default_errors(schema, path))
    errs.extend(schema_rule_errors(schema, path))
    return errs


def _simple_json_path_errors(value: str, field: str) -> list[Cause]:
    if not value:
        return [m.invalid(field, value, "must not be empty")]
    if not value.startswith("."):
        return [m.invalid(field, value, "must be a simple json path starting with .")]
    return []


def _scale_errors(scale: Any, path: str) -> list[Cause]:
    if not isinstance(scale, dict):
        return []
    errs: list[Cause] = []
    for key, prefix in (("specReplicasPath", ".spec."), ("statusReplicasPath", ".status.")):
        field, value = f"{path}.scale.{key}", _str(scale.get(key))
        if not value:
            errs.append(m.required(field))
            continue
        problems = _simple_json_path_errors(value, field)
        if not problems and not value.startswith(prefix):
            problems = [m.invalid(field, value, f"should be a json path under {prefix.rstrip('.')}")]
        errs.extend(problems)
    selector = _str(scale.get("labelSelectorPath"))
    if selector:
        field = f"{path}.scale.labelSelectorPath"
        problems = _simple_json_path_errors(selector, field)
        if not problems and not selector.startswith((".spec.", ".status.")):
            problems = [m.invalid(field, selector, "should be a json path under either .spec or .status")]
        errs.extend(problems)
    return errs


def _column_errors(column: dict[str, Any], path: str) -> list[Cause]:
    errs: list[Cause] = []
    if not _str(column.get("name")):
        errs.append(m.required(f"{path}.name"))
    col_type = column.get("type")
    if not col_type:
        errs.append(m.required(f"{path}.type", f"must be one of {_COLUMN_TYPES}"))
    elif col_type not in _COLUMN_TYPES.split(","):
        errs.append(m.invalid(f"{path}.type", col_type, f"must be one of {_COLUMN_TYPES}"))
    col_format = column.get("format")
    if col_format and col_format not in _COLUMN_FORMATS.split(","):
        errs.append(m.invalid(f"{path}.format", col_format, f"must be one of {_COLUMN_FORMATS}"))
    # kube names this field after its internal Go field, hence "JSONPath" rather than "jsonPath".
    json_path = _str(column.get("jsonPath"))
    if not json_path:
        errs.append(m.required(f"{path}.JSONPath"))
    else:
        errs.extend(_simple_json_path_errors(json_path, f"{path}.JSONPath"))
    return errs


def _names_errors(names: dict[str, Any]) -> list[Cause]:
    errs: list[Cause] = []
    for key in ("plural", "singular", "kind", "listKind"):
        if not _str(names.get(key)):
            errs.append(m.required(f"spec.names.{key}"))
    for key in ("plural", "singular"):
        value = _str(names.get(key))
        problems = dns1035_label_errors(value) if value else []
        if problems:
            errs.append(m.invalid(f"spec.names.{key}", value, ",".join(problems)))
    for key in ("kind", "listKind"):
        value = _str(names.get(key))
        problems = dns1035_label_errors(value.lower()) if value else []
        if problems:
            detail = "may have mixed case, but should otherwise match: " + ",".join(problems)
            errs.append(m.invalid(f"spec.names.{key}", value, detail))
    for key in ("shortNames", "categories"):
        entries = names.get(key)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            problems = dns1035_label_errors(_str(entry))
            if problems:
                errs.append(m.invalid(f"spec.names.{key}[{i}]", entry, ",".join(problems)))
    kind = _str(names.get("kind"))
    if kind and kind == names.get("listKind"):
        errs.append(m.invalid("spec.names.listKind", kind, "kind and listKind may not be the same"))
    return errs


def _conversion_errors(conversion: Any) -> list[Cause]:
    if conversion is None:
        return []
    if not isinstance(conversion, dict):
        return [m.invalid("spec.conversion", conversion, "must be an object")]
    errs: list[Cause] = []
    strategy = conversion.get("strategy")
    if strategy is not None and strategy != "None":
        # Webhook conversion is not supported by this server: only "None" is.
        errs.append(m.not_supported("spec.conversion.strategy", strategy, ["None"]))
    webhook = _dict(conversion.get("webhook"))
    if strategy in (None, "None"):
        detail = "should not be set when strategy is not set to Webhook"
        if webhook.get("clientConfig") is not None:
            errs.append(m.forbidden("spec.conversion.webhookClientConfig", detail))
        if webhook.get("conversionReviewVersions"):
            errs.append(m.forbidden("spec.conversion.conversionReviewVersions", detail))
    return errs

"""ClusterClass variables: a value checked and defaulted against a variable's schema, and the variables of a
Cluster's topology as a whole (upstream: internal/topology/variables).

Pure functions on wire dicts, shared by the Cluster webhook (admission) and the topology controller (which
defaults and checks again, as the class may have changed since the Cluster was admitted):

    definitions = definitions_of(cluster_class)              # name -> VariableDefinition
    errors = default_and_validate_topology(cluster, old, cluster_class)   # fills in defaults, in place
    values = effective_variables(cluster, machine_deployment="md-0")      # name -> value, overrides applied

A value is checked as kube-apiserver checks a custom resource: the OpenAPI v3 keywords (type, enum, bounds,
lengths, pattern, format, required, items, properties, allOf/anyOf/oneOf/not) by `jsonschema` (draft 4 has
OpenAPI's boolean exclusiveMinimum/Maximum), fields the schema does not name refused unless
x-kubernetes-preserve-unknown-fields, then the `x-kubernetes-validations` CEL rules at every level.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from herd.api.celrules import RuleError, compile_rule, failure
from herd.api.objects import nested
from herd.runtime.webhook import FieldError

Obj = dict[str, Any]

# The OpenAPI keywords a variable schema may use that mean the same in JSON Schema draft 4.
_SAME_KEYWORDS = ("type", "enum", "format", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                  "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
                  "required")
_NESTED_ONE = ("items", "not")
_NESTED_LIST = ("allOf", "anyOf", "oneOf")
_REASON_TYPES = {"FieldValueForbidden": "Forbidden", "FieldValueRequired": "Required value",
                 "FieldValueDuplicate": "Duplicate value"}


@dataclass(frozen=True)
class VariableDefinition:
    """What a ClusterClass says about one variable."""

    name: str
    required: bool
    schema: Obj  # the openAPIV3Schema


def definitions_of(cluster_class: Obj | None) -> dict[str, VariableDefinition]:
    """The class's variables by name: spec.variables (the inline ones, always current), plus any the status
    lists from elsewhere (discovered by an extension) whose definitions agree."""
    found: dict[str, VariableDefinition] = {}
    for var in nested(cluster_class, "spec", "variables") or []:
        if isinstance(var, dict) and isinstance(var.get("name"), str):
            found[var["name"]] = _definition(var["name"], var)
    for var in nested(cluster_class, "status", "variables") or []:
        definitions = nested(var, "definitions") or []
        name = nested(var, "name")
        if isinstance(name, str) and name not in found and definitions and not nested(var, "definitionsConflict"):
            found[name] = _definition(name, definitions[0])
    return found


def _definition(name: str, raw: Obj) -> VariableDefinition:
    schema = nested(raw, "schema", "openAPIV3Schema")
    return VariableDefinition(name, raw.get("required") is True, schema if isinstance(schema, dict) else {})


# --- one value ------------------------------------------------------------------------------------------------


def json_schema(schema: Obj) -> Obj:
    """A variable schema as a JSON Schema (draft 4) for the structural checks."""
    out: Obj = {key: schema[key] for key in _SAME_KEYWORDS if key in schema}
    if schema.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    properties = schema.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {name: json_schema(sub) for name, sub in properties.items() if isinstance(sub, dict)}
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = json_schema(extra)
    for key in _NESTED_ONE:
        if isinstance(schema.get(key), dict):
            out[key] = json_schema(schema[key])
    for key in _NESTED_LIST:
        if isinstance(schema.get(key), list):
            out[key] = [json_schema(sub) for sub in schema[key] if isinstance(sub, dict)]
    return out


@lru_cache(maxsize=512)
def _validator(schema_text: str) -> Draft4Validator:
    return Draft4Validator(json.loads(schema_text), format_checker=Draft4Validator.FORMAT_CHECKER)


def quote_value(value: Any) -> str:
    """A value as Go's %q / %v print it in field errors: strings double-quoted, the rest as JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def unsupported(field: str, value: Any, supported: Iterable[Any]) -> FieldError:
    """apimachinery's NotSupported: `field: Unsupported value: "x": supported values: "a", "b"`."""
    return FieldError("Unsupported value", field, f"{quote_value(value)}: supported values: "
                      + ", ".join(quote_value(v) for v in supported))


def child_path(path: str, key: str | int) -> str:
    """`path.key` for a field, `path[i]` for a list item."""
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def _structural_error(error: ValidationError, path: str) -> FieldError:
    where = path
    for part in error.absolute_path:
        where = child_path(where, part)
    keyword, bound, value = str(error.validator), error.validator_value, error.instance
    owner = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else ""
        return FieldError.required(child_path(where, missing) if missing else where)
    if keyword == "enum":
        return unsupported(where, value, bound if isinstance(bound, list) else [bound])
    detail = {
        "type": f"must be of type {' or '.join(bound) if isinstance(bound, list) else bound}",
        "minimum": f"should be greater than {'' if owner.get('exclusiveMinimum') else 'or equal to '}{bound}",
        "maximum": f"should be less than {'' if owner.get('exclusiveMaximum') else 'or equal to '}{bound}",
        "minLength": f"should be at least {bound} chars long",
        "maxLength": f"may not be more than {bound} chars long",
        "pattern": f"should match '{bound}'",
        "minItems": f"should have at least {bound} items",
        "maxItems": f"must have at most {bound} items",
        "uniqueItems": "shouldn't contain duplicates",
        "minProperties": f"should have at least {bound} properties",
        "maxProperties": f"should have at most {bound} properties",
        "format": f"must be of format {bound}",
    }.get(keyword, error.message)
    return FieldError.invalid(where, value, detail)


def _fields(schema: Obj) -> Obj:
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def unknown_fields(value: Any, schema: Obj, path: str = "") -> list[str]:
    """The paths (relative, dotted) of fields in `value` the schema does not name and does not let through."""
    found: list[str] = []
    if isinstance(value, dict) and not schema.get("x-kubernetes-preserve-unknown-fields"):
        properties, extra = _fields(schema), schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key) if key in properties else extra if isinstance(extra, dict) else None
            where = f"{path}.{key}" if path else str(key)
            if sub is None and extra is not True:
                found.append(where)
            elif isinstance(sub, dict):
                found += unknown_fields(item, sub, where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            found += unknown_fields(item, schema["items"], f"{path}[{i}]")
    return found


def _rule_error(reason: str, field: str, value: Any, message: str) -> FieldError:
    kind = _REASON_TYPES.get(reason)
    return FieldError.invalid(field, value, message) if kind is None else FieldError(kind, field, message)


def cel_errors(value: Any, schema: Obj, path: str, old: Any = None, has_old: bool = False) -> list[FieldError]:
    """The `x-kubernetes-validations` rules at every level of the schema, run on the value there (`oldSelf`
    only where the old value can be matched up: through fields and map keys, not list items)."""
    errors: list[FieldError] = []
    for raw in schema.get("x-kubernetes-validations") or []:
        if not isinstance(raw, dict):
            continue
        try:
            rule = compile_rule(raw)
        except RuleError as err:
            errors.append(FieldError.internal(path, f"the ClusterClass's rule does not compile: {err}"))
            continue
        if rule.is_transition and not has_old:
            continue
        message = failure(rule, value, old)
        if message is not None:
            field = path + rule.field_path if rule.field_path.startswith((".", "[")) else path
            errors.append(_rule_error(rule.reason, field, value, message))
    properties, extra = _fields(schema), schema.get("additionalProperties")
    if isinstance(value, dict):
        for key, item in value.items():
            sub = properties.get(key) if key in properties else extra
            if isinstance(sub, dict):
                before = old.get(key) if isinstance(old, dict) else None
                errors += cel_errors(item, sub, child_path(path, key), before, has_old and isinstance(old, dict)
                                     and key in old)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            errors += cel_errors(item, schema["items"], child_path(path, i))
    return errors


def validate_value(value: Any, schema: Obj, path: str, *, name: str = "", old: Any = None,
                   has_old: bool = False) -> list[FieldError]:
    """The problems of one value against a variable schema, with `path` (e.g.
    `spec.topology.variables[cpu].value`) in front of each; empty when it is valid."""
    validator = _validator(json.dumps(json_schema(schema), sort_keys=True))
    errors = [_structural_error(e, path) for e in sorted(validator.iter_errors(value), key=lambda e: list(
        map(str, e.absolute_path)))]
    if errors:
        return errors
    unknown = unknown_fields(value, schema)
    if unknown:
        holder = path.removesuffix(".value")
        return [FieldError.invalid(holder, value, f"{quote_value(','.join(unknown))} field(s) are not specified in the "
                                   f"variable schema of variable {quote_value(name)}")]
    return cel_errors(value, schema, path, old, has_old)


def default_value(value: Any, schema: Obj) -> Any:
    """The value with the schema's defaults filled in below it (a copy): missing or null fields that have a
    default get it, at every level, as kube-apiserver defaults a custom resource."""
    if isinstance(value, dict):
        out, properties = dict(value), _fields(schema)
        for key, sub in properties.items():
            if isinstance(sub, dict) and "default" in sub and out.get(key) is None:
                out[key] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for key, item in out.items():
            sub = properties.get(key) if key in properties else extra
            if isinstance(sub, dict):
                out[key] = default_value(item, sub)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [default_value(item, schema["items"]) for item in value]
    return value


# --- a list of values -----------------------------------------------------------------------------------------


def _by_name(values: Iterable[Any]) -> dict[str, Obj]:
    return {v["name"]: v for v in values if isinstance(v, dict) and isinstance(v.get("name"), str)}


def default_variables(values: list[Any] | None, definitions: dict[str, VariableDefinition], *,
                      create: bool) -> list[Obj]:
    """The values with defaults applied; with `create` (the Cluster's own list) a variable the Cluster does not
    set but whose schema has a default is added, in the class's order after the Cluster's own."""
    out = [dict(v) for v in values or [] if isinstance(v, dict)]
    present = _by_name(out)
    if create:
        for name, definition in definitions.items():
            if name not in present and "default" in definition.schema:
                out.append({"name": name, "value": copy.deepcopy(definition.schema["default"])})
    for item in out:
        found = definitions.get(str(item.get("name")))
        if found is not None:
            value = item.get("value")
            if value is None and "default" in found.schema:
                value = copy.deepcopy(found.schema["default"])
            item["value"] = default_value(value, found.schema)
    return out


def validate_variables(values: list[Any] | None, old_values: list[Any] | None,
                       definitions: dict[str, VariableDefinition], path: str, *,
                       check_required: bool) -> list[FieldError]:
    """Every value known to the class and valid for its schema; with `check_required`, every required variable
    set."""
    errors: list[FieldError] = []
    given, before = _by_name(values or []), _by_name(old_values or [])
    if check_required:
        errors += [FieldError.required(path, f"required variable {quote_value(name)} must be set")
                   for name, definition in definitions.items() if definition.required and name not in given]
    for name, item in given.items():
        where = f"{path}[{name}]"
        known = definitions.get(name)
        if known is None:
            errors.append(FieldError.invalid(where, item.get("value"), "variable is not defined"))
            continue
        old = before.get(name)
        errors += validate_value(item.get("value"), known.schema, f"{where}.value", name=name,
                                 old=nested(old, "value"), has_old=old is not None)
    return errors


# --- a Cluster's topology -------------------------------------------------------------------------------------

TOPOLOGY = "spec.topology"


def _overrides(topology: Any) -> list[tuple[str, Any, str]]:
    """(path, holder of the `overrides` list, label) for the control plane and every worker topology."""
    found = [(f"{TOPOLOGY}.controlPlane.variables.overrides", nested(topology, "controlPlane", "variables"), "")]
    for pool in ("machineDeployments", "machinePools"):
        for item in nested(topology, "workers", pool) or []:
            name = nested(item, "name")
            found.append((f"{TOPOLOGY}.workers.{pool}[{name}].variables.overrides", nested(item, "variables"),
                          f"{pool}/{name}"))
    return found


def default_and_validate_topology(cluster: Obj, old: Obj | None, cluster_class: Obj) -> list[FieldError]:
    """Default the Cluster's topology variables (in place) and check them against the class: the Cluster-level
    list gets the class's defaults for what it leaves out and must set every required variable; the overrides of
    the control plane and of each worker topology are defaulted and checked, their required-ness not."""
    definitions = definitions_of(cluster_class)
    topology = nested(cluster, "spec", "topology")
    if not isinstance(topology, dict):
        return []
    old_topology = nested(old, "spec", "topology")
    variables = default_variables(topology.get("variables"), definitions, create=True)
    if variables or topology.get("variables") is not None:
        topology["variables"] = variables
    errors = validate_variables(variables, nested(old_topology, "variables"), definitions, f"{TOPOLOGY}.variables",
                                check_required=True)
    old_overrides = {label: nested(holder, "overrides") for _, holder, label in _overrides(old_topology)}
    for path, holder, label in _overrides(topology):
        if not isinstance(holder, dict) or not holder.get("overrides"):
            continue
        holder["overrides"] = default_variables(holder["overrides"], definitions, create=False)
        errors += validate_variables(holder["overrides"], old_overrides.get(label), definitions, path,
                                     check_required=False)
    return errors


def effective_variables(cluster: Obj, *, machine_deployment: str | None = None, machine_pool: str | None = None,
                        control_plane: bool = False) -> dict[str, Any]:
    """The variables' values (name -> value) as patches see them: the Cluster's, replaced by the overrides of
    the control plane or of the named MachineDeployment / MachinePool topology when asked for."""
    topology = nested(cluster, "spec", "topology")
    values = {name: item.get("value") for name, item in _by_name(nested(topology, "variables") or []).items()}
    holder: Any = None
    if control_plane:
        holder = nested(topology, "controlPlane", "variables")
    for pool, wanted in (("machineDeployments", machine_deployment), ("machinePools", machine_pool)):
        if wanted is not None:
            holder = next((nested(item, "variables") for item in nested(topology, "workers", pool) or []
                           if nested(item, "name") == wanted), None)
    values.update({name: item.get("value") for name, item in _by_name(nested(holder, "overrides") or []).items()})
    return values

"""What kube-apiserver checks of a CEL rule against the schema it is declared on, before any object exists.

- **Types**: `self` (and `oldSelf`) have the type of the schema node; selecting a field an object schema does not
  declare, or naming a variable that does not exist, is a compilation error in kube's shape
  (`ERROR: <input>:1:5: undefined field 'x'` with the source line and a caret). Values the schema leaves open
  (`x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string`, results of most functions) are not checked.
  At the root, `apiVersion`, `kind` and `metadata` always exist, and `metadata` offers only `name` and
  `generateName`, as in kube.
- **Cost**: a static estimate in the manner of cel-go's: each step costs about one, a macro over a list or map
  costs its body once per element, and string operations their length; sizes come from `maxItems`,
  `maxProperties` and `maxLength`, or, where the schema sets none, from the largest object a request can carry
  (3 MiB), as kube assumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from herd.apiserver.schema.cel_parse import MACROS, Node, ParseError, parse

MAX_REQUEST_BYTES = 3 * 1024 * 1024
_TYPE_NAMES = frozenset({"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type",
                         "dyn", "duration", "timestamp"})
_NAMESPACES = frozenset({"optional", "format", "ip", "sets", "math", "base64", "strings", "lists", "cidr"})
_CEL_KEYWORDS = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
                           "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
                           "void", "while"})
_STRING_SCANS = frozenset({"contains", "startsWith", "endsWith", "matches", "find", "findAll", "indexOf",
                           "lastIndexOf", "lowerAscii", "upperAscii", "replace", "split", "substring", "trim",
                           "charAt", "isURL", "url", "isQuantity", "quantity", "isIP", "ip", "isCIDR", "cidr",
                           "validate"})
DYN: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
_ROOT_METADATA = {"type": "object", "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}}}
_STRING = {"type": "string"}


class RuleTypeError(ValueError):
    """A rule that does not type-check against its schema; the text is kube's compilation error."""


def unescape_field(name: str) -> str:
    """A property name as CEL spells it (`a__dash__b` for `a-b`) back to the property name."""
    if name.startswith("__") and name.endswith("__") and name[2:-2] in _CEL_KEYWORDS:
        return name[2:-2]
    return (name.replace("__underscores__", "\0").replace("__dash__", "-").replace("__dot__", ".")
            .replace("__slash__", "/").replace("\0", "__"))


def _is_open(schema: dict[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-int-or-string")) \
        or (not schema.get("type") and not schema.get("properties"))


def _properties(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The declared fields of an object schema, or None when any field may be selected."""
    if _is_open(schema) or schema.get("type") not in ("object", None) or isinstance(
            schema.get("additionalProperties"), dict):
        return None
    props = dict(schema.get("properties") or {})
    if schema.get("x-kubernetes-embedded-resource"):
        for name in ("apiVersion", "kind"):
            props.setdefault(name, _STRING)
        props.setdefault("metadata", DYN)
    return props


def element_type(schema: dict[str, Any]) -> dict[str, Any]:
    """What a macro's variable ranges over: a list's items, a map's keys (strings)."""
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return dict(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict) or (
            schema.get("type") == "object" and schema.get("properties")):
        return _STRING
    return DYN


@dataclass
class _Checker:
    source: str

    def fail(self, position: int, message: str) -> RuleTypeError:
        line_start = self.source.rfind("\n", 0, position) + 1
        line_end = self.source.find("\n", position)
        line = self.source[line_start:line_end if line_end >= 0 else len(self.source)]
        number = self.source.count("\n", 0, position) + 1
        column = position - line_start
        return RuleTypeError(f"ERROR: <input>:{number}:{column + 1}: {message}\n | {line}\n | {'.' * column}^")

    def type_of(self, node: Node, env: dict[str, dict[str, Any]]) -> dict[str, Any]:
        if node.kind == "ident":
            if node.name in env:
                return env[node.name]
            if node.name not in _TYPE_NAMES:
                raise self.fail(node.position, f"undeclared reference to '{node.name}' (in container '')")
            return DYN
        if node.kind == "select":
            assert node.target is not None
            return self.select(node, self.type_of(node.target, env))
        if node.kind == "index":
            assert node.target is not None
            container = self.type_of(node.target, env)
            self.type_of(node.args[0], env)
            if container.get("type") == "array" and isinstance(container.get("items"), dict):
                return dict(container["items"])
            extra = container.get("additionalProperties")
            return dict(extra) if isinstance(extra, dict) else DYN
        if node.kind == "call":
            return self.call(node, env)
        for arg in node.args:
            self.type_of(arg, env)
        return DYN

    def select(self, node: Node, container: dict[str, Any]) -> dict[str, Any]:
        props = _properties(container)
        if props is None:
            extra = container.get("additionalProperties")
            return dict(extra) if isinstance(extra, dict) else DYN
        name = unescape_field(node.name)
        if name not in props:
            raise self.fail(node.position, f"undefined field '{node.name}'")
        chosen = props[name]
        return dict(chosen) if isinstance(chosen, dict) else DYN

    def call(self, node: Node, env: dict[str, dict[str, Any]]) -> dict[str, Any]:
        target = node.target
        if target is not None and target.kind == "ident" and target.name in _NAMESPACES and target.name not in env:
            target = None  # `format.named(...)`, `optional.none()`: a namespaced function, not a variable
        if node.name == "has" and target is None and len(node.args) == 1 and node.args[0].kind == "select":
            self.type_of(node.args[0], env)
            return DYN
        if node.name in MACROS and target is not None and node.args and node.args[0].kind == "ident":
            ranged = self.type_of(target, env)
            names = [a.name for a in node.args[:-1] if a.kind == "ident"]
            inner = dict(env)
            if len(names) == 1:
                inner[names[0]] = element_type(ranged)
            else:  # two-variable forms: index (or key) and value
                inner.update({name: DYN for name in names})
            self.type_of(node.args[-1], inner)
            return ranged if node.name == "filter" else DYN
        if target is not None:
            self.type_of(target, env)
        for arg in node.args:
            self.type_of(arg, env)
        return DYN


def type_check(source: str, schema: dict[str, Any], *, root: bool, with_old_self: bool) -> None:
    """RuleTypeError when `source` selects a field its schema node lacks or names an unknown variable."""
    try:
        tree = parse(source)
    except ParseError:
        return  # the library compiled it; what this parser cannot read, it does not judge
    own = _self_type(schema, root)
    env = {"self": own, **({"oldSelf": own} if with_old_self else {})}
    _Checker(source).type_of(tree, env)


def _self_type(schema: dict[str, Any], root: bool) -> dict[str, Any]:
    """A resource's root always has apiVersion, kind and metadata (of which CEL sees name and generateName)."""
    if not root:
        return schema
    declared = schema.get("properties")
    props: dict[str, Any] = declared if isinstance(declared, dict) else {}
    return {**schema, "properties": {"apiVersion": _STRING, "kind": _STRING, **props, "metadata": _ROOT_METADATA}}


# ------------------------------------------------------------------------------------------------ cost
def _min_serialized_size(schema: dict[str, Any]) -> int:
    """The fewest JSON bytes one value of `schema` takes, as kube's estimator assumes ("" for a string, {} ...)."""
    kind = schema.get("type")
    if kind == "string" or schema.get("x-kubernetes-int-or-string"):
        return 2 if kind == "string" else 1
    if kind in ("array", "object"):
        return 2
    if kind == "boolean":
        return 4
    return 1


def max_elements(schema: dict[str, Any]) -> int:
    """The most elements a list, map or string at `schema` can have (from its limit, else the request size)."""
    kind = schema.get("type")
    if kind == "array":
        limit = schema.get("maxItems")
        item = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        unbounded = (MAX_REQUEST_BYTES - 2) // (_min_serialized_size(item or {}) + 1)
    elif kind == "string":
        limit = schema.get("maxLength")
        unbounded = MAX_REQUEST_BYTES - 2
    elif kind == "object" or _is_open(schema):
        limit = schema.get("maxProperties")
        extra = schema.get("additionalProperties")
        value_size = _min_serialized_size(extra) if isinstance(extra, dict) else 1
        unbounded = (MAX_REQUEST_BYTES - 2) // (value_size + 4)  # "k":v,
    else:
        return 1
    return int(limit) if isinstance(limit, int) and limit >= 0 else unbounded


@dataclass
class _Estimator:
    def cost(self, node: Node, env: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """(estimated cost, type) of `node`."""
        if node.kind == "literal":
            return 0, _STRING if isinstance(node.value, str) else {}
        if node.kind == "ident":
            return 1, env.get(node.name, DYN)
        if node.kind == "select":
            assert node.target is not None
            cost, container = self.cost(node.target, env)
            props = _properties(container) or {}
            chosen = props.get(unescape_field(node.name))
            if chosen is None and isinstance(container.get("additionalProperties"), dict):
                chosen = container["additionalProperties"]
            return cost + 1, dict(chosen) if isinstance(chosen, dict) else DYN
        if node.kind == "index":
            assert node.target is not None
            cost, container = self.cost(node.target, env)
            index_cost, _ = self.cost(node.args[0], env)
            items = container.get("items") if container.get("type") == "array" else \
                container.get("additionalProperties")
            return cost + index_cost + 1, dict(items) if isinstance(items, dict) else DYN
        if node.kind == "call":
            return self.call(node, env)
        if node.kind == "binary":
            return self.binary(node, env)
        total = sum(self.cost(arg, env)[0] for arg in node.args)
        if node.kind == "list":  # a literal's size is known: a macro over it runs that many times
            return total + 1, {"type": "array", "maxItems": len(node.args), "items": DYN}
        return total + (1 if node.kind == "map" else 0), DYN

    def binary(self, node: Node, env: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        (left, left_type), (right, right_type) = (self.cost(arg, env) for arg in node.args)
        cost = left + right + 1
        if node.name in ("==", "!=", "+", "in") and (
                left_type.get("type") in ("string", "array") or right_type.get("type") in ("string", "array")):
            sized = left_type if left_type.get("type") in ("string", "array") else right_type
            cost += _scaled(max_elements(sized))  # comparing or joining walks the whole value
        return cost, left_type if node.name == "+" else {}

    def call(self, node: Node, env: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        if node.name in MACROS and node.target is not None and node.args:
            range_cost, ranged = self.cost(node.target, env)
            names = [a.name for a in node.args[:-1] if a.kind == "ident"]
            inner = dict(env)
            for name in names:
                inner[name] = element_type(ranged) if len(names) == 1 else DYN
            body, _ = self.cost(node.args[-1], inner)
            return range_cost + max_elements(ranged) * (body + 1), ranged if node.name == "filter" else DYN
        cost, receiver = self.cost(node.target, env) if node.target is not None else (0, DYN)
        arg_types: list[dict[str, Any]] = []
        for arg in node.args:
            arg_cost, arg_type = self.cost(arg, env)
            cost += arg_cost
            arg_types.append(arg_type)
        sized = receiver if node.target is not None else (arg_types[0] if arg_types else {})
        if node.name in _STRING_SCANS and sized.get("type") == "string":
            cost += _scaled(max_elements(sized))
        if node.name in ("sets.contains", "sets.equivalent", "sets.intersects", "isSorted", "sum", "min", "max",
                         "join", "indexOf", "lastIndexOf") and sized.get("type") == "array":
            cost += max_elements(sized)
        return cost + 1, DYN


def _scaled(length: int) -> int:
    """Work over a string or list of `length`: a tenth of a unit per element, as cel-go prices such scans."""
    return max(1, length // 10)


def estimated_rule_cost(source: str, schema: dict[str, Any], *, root: bool, with_old_self: bool) -> int:
    """The static worst-case cost of `source` on values of `schema` (0 when this parser cannot read it)."""
    try:
        tree = parse(source)
    except ParseError:
        return 0
    own = _self_type(schema, root)
    env = {"self": own, **({"oldSelf": own} if with_old_self else {})}
    return _Estimator().cost(tree, env)[0]

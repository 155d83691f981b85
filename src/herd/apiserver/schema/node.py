"""A compiled, cached view of an OpenAPI v3 schema, shared by pruning, defaulting and validation.

Reading keywords out of the raw schema dict on every request would repeat the same dict
lookups, type checks and regex compilations thousands of times a second. A `Node` reads its
keywords once; child nodes (properties, items, additionalProperties) are compiled lazily, the
first time an object actually reaches them, so a huge CRD schema costs only what is used.

Compiled trees are cached by the identity of the schema dict. Callers must therefore treat a
schema dict as immutable once they have passed it in: to change a schema, pass a new dict.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from herd.apiserver.schema.formats import number_format_checker, string_format_checker
from herd.apiserver.schema.regex import compile_pattern


class _Missing:
    """Marks "keyword absent" where None would be a legitimate JSON value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def _int(raw: dict[str, Any], key: str) -> int | None:
    v = raw.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _num(raw: dict[str, Any], key: str) -> int | float | None:
    v = raw.get(key)
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def _subschemas(raw: dict[str, Any], key: str, tree: _Tree) -> tuple[Node, ...]:
    subs = raw.get(key)
    if not isinstance(subs, list):
        return ()
    return tuple(Node(s, tree) for s in subs if isinstance(s, dict))


class _Tree:
    """State shared by every node of one compiled schema."""

    __slots__ = ("declared_below",)

    def __init__(self) -> None:
        # per question (`_declares_...`): id(raw node) -> "this subtree declares it"; filled in one pass on first use
        self.declared_below: dict[Callable[[dict[str, Any]], bool], dict[int, bool]] = {}


def _scan(raw: Any, flags: dict[int, bool], marks: Callable[[dict[str, Any]], bool]) -> bool:
    """Whether `marks` holds for `raw` or any node structurally below it (properties, items,
    additionalProperties), recording the answer of every node on the way in `flags`."""
    if not isinstance(raw, dict):
        return False
    found = marks(raw)
    props = raw.get("properties")
    if isinstance(props, dict):
        for sub in props.values():
            found = _scan(sub, flags, marks) or found
    found = _scan(raw.get("items"), flags, marks) or found
    found = _scan(raw.get("additionalProperties"), flags, marks) or found
    flags[id(raw)] = found
    return found


def _declares_set_or_map_list(raw: dict[str, Any]) -> bool:
    return raw.get("x-kubernetes-list-type") in ("set", "map")


def _declares_default(raw: dict[str, Any]) -> bool:
    return raw.get("default") is not None


class Node:
    """One schema node with its keywords pre-read. Attributes mirror the OpenAPI keywords."""

    __slots__ = (
        "_additional",
        "_defaulted",
        "_items",
        "_props",
        "additional_raw",
        "all_of",
        "any_of",
        "checks_number",
        "checks_string",
        "default",
        "embedded",
        "enum",
        "excl_max",
        "excl_min",
        "forbids_additional",
        "has_additional",
        "has_combinators",
        "int_or_string",
        "items_raw",
        "list_map_keys",
        "list_type",
        "max_items",
        "max_length",
        "max_props",
        "maximum",
        "min_items",
        "min_length",
        "min_props",
        "minimum",
        "multiple_of",
        "not_",
        "nullable",
        "number_format",
        "one_of",
        "pattern",
        "pattern_error",
        "pattern_src",
        "preserve_unknown",
        "props_raw",
        "raw",
        "required",
        "string_format",
        "tree",
        "type_label",
        "types",
        "unique_items",
    )

    def __init__(self, raw: dict[str, Any], tree: _Tree | None = None) -> None:
        self.raw = raw
        self.tree = tree if tree is not None else _Tree()
        self.int_or_string = raw.get("x-kubernetes-int-or-string") is True
        declared = raw.get("type")
        if self.int_or_string:
            self.types: tuple[str, ...] = ("integer", "string")
        else:
            self.types = (declared,) if isinstance(declared, str) and declared else ()
        self.type_label = ",".join(self.types)
        self.nullable = raw.get("nullable") is True
        self.preserve_unknown = raw.get("x-kubernetes-preserve-unknown-fields") is True
        self.embedded = raw.get("x-kubernetes-embedded-resource") is True
        # A JSON null default is no default at all (kube cannot tell it from an absent one).
        self.default: Any = raw["default"] if raw.get("default") is not None else MISSING
        enum = raw.get("enum")
        self.enum: list[Any] | None = enum if isinstance(enum, list) and enum else None
        self._read_string_keywords(raw)
        self._read_number_keywords(raw)
        self._read_collection_keywords(raw)
        self.all_of = _subschemas(raw, "allOf", self.tree)
        self.any_of = _subschemas(raw, "anyOf", self.tree)
        self.one_of = _subschemas(raw, "oneOf", self.tree)
        not_raw = raw.get("not")
        self.not_ = Node(not_raw, self.tree) if isinstance(not_raw, dict) else None
        self.has_combinators = bool(self.all_of or self.any_of or self.one_of or self.not_)

    def _read_string_keywords(self, raw: dict[str, Any]) -> None:
        self.max_length = _int(raw, "maxLength")
        self.min_length = _int(raw, "minLength")
        pattern = raw.get("pattern")
        self.pattern_src = pattern if isinstance(pattern, str) and pattern else None
        self.pattern: re.Pattern[str] | None = None
        self.pattern_error: str | None = None
        if self.pattern_src is not None:
            try:
                self.pattern = compile_pattern(self.pattern_src)
            except (re.error, OverflowError, RecursionError) as exc:
                self.pattern_error = str(exc)  # every value then fails, as in kube
        fmt = raw.get("format")
        fmt = fmt if isinstance(fmt, str) else ""
        self.string_format = string_format_checker(fmt) if fmt else None
        self.number_format = number_format_checker(fmt) if fmt else None
        self.checks_string = (
            self.max_length is not None
            or self.min_length is not None
            or self.pattern_src is not None
            or self.string_format is not None
        )

    def _read_number_keywords(self, raw: dict[str, Any]) -> None:
        self.minimum = _num(raw, "minimum")
        self.maximum = _num(raw, "maximum")
        self.excl_min = raw.get("exclusiveMinimum") is True
        self.excl_max = raw.get("exclusiveMaximum") is True
        self.multiple_of = _num(raw, "multipleOf")
        self.checks_number = (
            self.minimum is not None
            or self.maximum is not None
            or self.multiple_of is not None
            or self.number_format is not None
        )

    def _read_collection_keywords(self, raw: dict[str, Any]) -> None:
        self.min_items = _int(raw, "minItems")
        self.max_items = _int(raw, "maxItems")
        self.unique_items = raw.get("uniqueItems") is True
        self.min_props = _int(raw, "minProperties")
        self.max_props = _int(raw, "maxProperties")
        req = raw.get("required")
        self.required: tuple[str, ...] = (
            tuple(r for r in req if isinstance(r, str)) if isinstance(req, list) else ()
        )
        list_type = raw.get("x-kubernetes-list-type")
        self.list_type = list_type if isinstance(list_type, str) else None
        keys = raw.get("x-kubernetes-list-map-keys")
        self.list_map_keys: tuple[str, ...] = (
            tuple(k for k in keys if isinstance(k, str)) if isinstance(keys, list) else ()
        )
        props = raw.get("properties")
        self.props_raw: dict[str, Any] | None = props if isinstance(props, dict) and props else None
        self._props: dict[str, Node] = {}
        self._defaulted: tuple[tuple[str, Node], ...] | None = None
        items = raw.get("items")
        self.items_raw: dict[str, Any] | None = items if isinstance(items, dict) else None
        self._items: Node | None = None
        additional = raw.get("additionalProperties")
        # Any additionalProperties (true, false or a schema) makes the node a map for pruning;
        # only `false` forbids extra keys, and only a schema constrains their values.
        self.has_additional = additional is not None
        self.forbids_additional = additional is False
        self.additional_raw: dict[str, Any] | None = additional if isinstance(additional, dict) else None
        self._additional: Node | None = None

    def prop(self, name: str) -> Node | None:
        """The schema of property `name`, or None when the node does not declare it."""
        node = self._props.get(name)
        if node is None and self.props_raw is not None:
            raw = self.props_raw.get(name)
            if isinstance(raw, dict):
                node = self._props[name] = Node(raw, self.tree)
        return node

    @property
    def items(self) -> Node | None:
        """The schema of array items, if declared."""
        if self._items is None and self.items_raw is not None:
            self._items = Node(self.items_raw, self.tree)
        return self._items

    @property
    def additional(self) -> Node | None:
        """The schema of additionalProperties values, if it is a schema (not a bare boolean)."""
        if self._additional is None and self.additional_raw is not None:
            self._additional = Node(self.additional_raw, self.tree)
        return self._additional

    def defaulted_props(self) -> tuple[tuple[str, Node], ...]:
        """(name, node) of every declared property that carries a non-null default."""
        if self._defaulted is None:
            found: list[tuple[str, Node]] = []
            for name, raw in (self.props_raw or {}).items():
                if isinstance(raw, dict) and raw.get("default") is not None:
                    child = self.prop(name)
                    assert child is not None
                    found.append((name, child))
            self._defaulted = tuple(found)
        return self._defaulted

    @property
    def has_list_semantics(self) -> bool:
        """Whether this node or anything structurally below it is a set or map list."""
        return self._declared_below(_declares_set_or_map_list)

    @property
    def has_defaults(self) -> bool:
        """Whether this node or anything structurally below it declares a default (else defaulting skips it)."""
        return self._declared_below(_declares_default)

    def _declared_below(self, marks: Callable[[dict[str, Any]], bool]) -> bool:
        flags = self.tree.declared_below.setdefault(marks, {})
        found = flags.get(id(self.raw))
        if found is None:
            found = _scan(self.raw, flags, marks)
        return found


_CACHE_SIZE: Final = 512
_cache: OrderedDict[int, tuple[dict[str, Any], Node]] = OrderedDict()


def compiled(schema: dict[str, Any]) -> Node:
    """The compiled tree of `schema`, built on first use and cached by the dict's identity.

    The cache keeps a reference to the schema so its id cannot be reused while cached, and
    is bounded so callers that build a fresh schema dict per request cannot grow it forever.
    """
    key = id(schema)
    hit = _cache.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    node = Node(schema)
    _cache[key] = (schema, node)
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return node

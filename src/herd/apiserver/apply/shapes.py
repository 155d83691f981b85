"""What the schema says about each node of an object, as structured-merge-diff needs it.

A `Shape` answers, for one node: how its list merges (`atomic`, `set`, or `map` by key fields), whether
its map is atomic, and for a map key whether the key is a declared field (a struct field) or a value of
a free-form map. Custom resources read this from their CRD's openAPIV3Schema; built-in kinds from
`builtin_lists` (kube's list keys for the kinds herd serves). What no schema describes is untyped:
maps merge key by key, lists are atomic. `metadata` is ObjectMeta for every kind.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

from herd.apiserver.apply.builtin_lists import OBJECT_META, BuiltinTable, table_for
from herd.apiserver.schema.node import Node, compiled

ATOMIC, SET, MAP = "atomic", "set", "map"


class Shape:
    """One schema node. Subclasses fill in children; results are cached on the node."""

    __slots__ = ("_children", "_item", "atomic_map", "keys", "list_type")

    def __init__(self, list_type: str = ATOMIC, keys: tuple[str, ...] = (), atomic_map: bool = False) -> None:
        self.list_type = list_type
        self.keys = keys
        self.atomic_map = atomic_map
        self._children: dict[str, tuple[Shape, bool]] = {}
        self._item: Shape | None = None

    def child(self, key: str) -> tuple[Shape, bool]:
        """The shape of map key `key`, and whether it is a declared field."""
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = self._make_child(key)
        return found

    def item(self) -> Shape:
        """The shape of this list's items."""
        if self._item is None:
            self._item = self._make_item()
        return self._item

    def _make_child(self, key: str) -> tuple[Shape, bool]:
        return UNTYPED, False

    def _make_item(self) -> Shape:
        return UNTYPED


UNTYPED: Final = Shape()


class SchemaShape(Shape):
    """A node of a CRD's structural schema."""

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        map_type = node.raw.get("x-kubernetes-map-type")
        list_type = node.list_type if node.list_type in (SET, MAP) else ATOMIC
        super().__init__(list_type, node.list_map_keys, map_type == "atomic")
        self.node = node

    def _make_child(self, key: str) -> tuple[Shape, bool]:
        declared = self.node.prop(key)
        if declared is not None:
            return SchemaShape(declared), True
        additional = self.node.additional
        return (SchemaShape(additional) if additional is not None else UNTYPED), False

    def _make_item(self) -> Shape:
        items = self.node.items
        return SchemaShape(items) if items is not None else UNTYPED


class TableShape(Shape):
    """A node of a built-in kind, described by its dotted path (list positions left out) in a table."""

    __slots__ = ("path", "table")

    def __init__(self, table: BuiltinTable, path: str) -> None:
        strategy = table.lists.get(path)
        super().__init__(strategy[0] if strategy else ATOMIC, strategy[1] if strategy else (),
                         path in table.atomic_maps)
        self.table = table
        self.path = path

    def _make_child(self, key: str) -> tuple[Shape, bool]:
        return (TableShape(self.table, f"{self.path}.{key}" if self.path else key),
                self.path not in self.table.free_maps)

    def _make_item(self) -> Shape:
        return TableShape(self.table, self.path)


class RootShape(Shape):
    """The object itself: `metadata` is ObjectMeta whatever the schema says about it."""

    __slots__ = ("body", "meta")

    def __init__(self, body: Shape) -> None:
        super().__init__()
        self.body = body
        self.meta = TableShape(OBJECT_META, "metadata")

    def _make_child(self, key: str) -> tuple[Shape, bool]:
        if key == "metadata":
            return self.meta, True
        return self.body.child(key)


_CACHE_SIZE: Final = 512
_schema_roots: OrderedDict[int, tuple[dict[str, Any], RootShape]] = OrderedDict()
_builtin_roots: dict[str, RootShape] = {}


def shape_for(kind: str, builtin: bool, schema: dict[str, Any] | None) -> Shape:
    """The root shape of a kind: its CRD schema for custom resources, kube's list keys for built-ins."""
    if builtin or schema is None:
        root = _builtin_roots.get(kind)
        if root is None:
            root = _builtin_roots[kind] = RootShape(TableShape(table_for(kind), ""))
        return root
    hit = _schema_roots.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    shape = RootShape(SchemaShape(compiled(schema)))
    _schema_roots[id(schema)] = (schema, shape)
    while len(_schema_roots) > _CACHE_SIZE:
        _schema_roots.popitem(last=False)
    return shape

"""The checks kube-apiserver makes of a CRD's CEL rules against their schema when the CRD is written.

Each rule (and messageExpression) that compiles is type-checked against the schema node it is declared on
(cel_check), and its static cost estimated: one over the per-expression limit refuses the CRD, and so does a
schema whose rules together (each rule's cost times how many times it can run: the product of the `maxItems` /
`maxProperties` of the lists and maps above it) exceed the per-CRD limit, naming the rules that weigh most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema import messages as m
from herd.apiserver.schema.cel import compile_error
from herd.apiserver.schema.cel_check import RuleTypeError, estimated_rule_cost, max_elements, type_check

# kube-apiserver's static limits: one expression, and every rule of one schema together
PER_EXPRESSION_LIMIT = 10_000_000
PER_SCHEMA_LIMIT = 100_000_000
_MOST_EXPENSIVE = 4
_ADVICE = ("(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and "
           "strings are declared)")


def budget_message(what: str, cost: int, limit: int) -> str:
    """kube's wording of a cost over its limit, with the factor as kube formats it."""
    factor = cost / limit
    shown = "more than 100x" if factor > 100 else f"{factor:f}x" if factor < 1.5 else f"{factor:.1f}x"
    return f"{what} exceeds budget by factor of {shown} {_ADVICE}"


@dataclass
class _Contribution:
    path: str
    total: int


@dataclass
class _Walk:
    causes: list[Cause]
    contributions: list[_Contribution]

    def node(self, schema: dict[str, Any], path: str, cardinality: int, root: bool) -> None:
        rules = schema.get("x-kubernetes-validations")
        for i, raw in enumerate(rules if isinstance(rules, list) else ()):
            if isinstance(raw, dict) and isinstance(raw.get("rule"), str) and raw["rule"].strip() \
                    and compile_error(raw) is None:
                self.rule(raw, schema, f"{path}.x-kubernetes-validations[{i}]", cardinality, root)
        props = schema.get("properties")
        for key, prop in (props.items() if isinstance(props, dict) else ()):
            if isinstance(prop, dict):
                self.node(prop, f"{path}.properties[{key}]", cardinality, False)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            self.node(extra, f"{path}.additionalProperties", _times(cardinality, max_elements(schema)), False)
        items = schema.get("items")
        if isinstance(items, dict):
            self.node(items, f"{path}.items", _times(cardinality, max_elements(schema)), False)

    def rule(self, raw: dict[str, Any], schema: dict[str, Any], base: str, cardinality: int, root: bool) -> None:
        total = 0
        for key in ("rule", "messageExpression"):
            source = raw.get(key)
            if not isinstance(source, str) or not source.strip():
                continue
            with_old_self = "oldSelf" in source
            try:
                type_check(source, schema, root=root, with_old_self=with_old_self)
            except RuleTypeError as err:
                what = "compilation failed" if key == "rule" else "messageExpression compilation failed"
                self.causes.append(m.invalid(f"{base}.{key}", source, f"{what}: {err}"))
                return
            cost = estimated_rule_cost(source, schema, root=root, with_old_self=with_old_self)
            if cost > PER_EXPRESSION_LIMIT:
                what = "estimated rule cost" if key == "rule" else "estimated messageExpression cost"
                self.causes.append(m.forbidden(f"{base}.{key}", budget_message(what, cost, PER_EXPRESSION_LIMIT)))
            total += _times(cost, cardinality)
        self.contributions.append(_Contribution(f"{base}.rule", total))


def _times(a: int, b: int) -> int:
    return min(a * b, 2**63 - 1)  # kube's overflow guard: the product saturates


def cel_schema_errors(schema: dict[str, Any], path: str) -> list[Cause]:
    """Type and cost errors of every CEL rule in one CRD version's openAPIV3Schema found at `path`."""
    walk = _Walk([], [])
    walk.node(schema, path, 1, True)
    total = sum(c.total for c in walk.contributions)
    if total > PER_SCHEMA_LIMIT:
        heaviest = sorted(walk.contributions, key=lambda c: -c.total)[:_MOST_EXPENSIVE]
        walk.causes += [m.forbidden(c.path, "contributed to estimated rule cost total exceeding cost limit for "
                                    "entire OpenAPIv3 schema") for c in heaviest]
        walk.causes.append(m.forbidden(path, budget_message(
            "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema", total,
            PER_SCHEMA_LIMIT)))
    return walk.causes

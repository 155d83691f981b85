"""A CRD's CEL rules checked against their schema when the CRD is written, as kube-apiserver checks them: a rule
selecting a field the schema lacks (or naming an unknown variable) does not compile, and a rule whose estimated
cost is over the per-expression limit, or rules whose total is over the per-CRD limit, refuse the CRD."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from herd.api.registry import all_crds
from herd.apiserver.schema import default_crd, validate_crd
from herd.apiserver.schema.cel_check import type_check
from herd.apiserver.schema.cel_parse import Node, ParseError, parse

ROOT = "spec.versions[0].schema.openAPIV3Schema"
ADVICE = ("(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and "
          "strings are declared)")
ITEMS = {"type": "array", "maxItems": 10,
         "items": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 64}}}}
SPEC = {"type": "object", "properties": {
    "mode": {"type": "string", "maxLength": 16}, "foo-bar": {"type": "integer"}, "items": ITEMS,
    "labels": {"type": "object", "maxProperties": 10, "additionalProperties": {"type": "string", "maxLength": 63}},
    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}


def crd(schema: dict[str, Any]) -> dict[str, Any]:
    written = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "widgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                        "versions": [{"name": "v1", "served": True, "storage": True,
                                      "schema": {"openAPIV3Schema": schema}}]}}
    default_crd(written)
    return written


def with_root_rule(*rules: dict[str, Any]) -> dict[str, Any]:
    return crd({"type": "object", "properties": {"metadata": {"type": "object"}, "spec": SPEC},
                "x-kubernetes-validations": list(rules)})


@pytest.mark.parametrize("rule", [
    "self.spec.mode == 'a'",
    "self.spec.foo__dash__bar > 1",
    "self.spec.items.all(i, i.name.size() < 10)",
    "self.spec.labels.all(k, k.startsWith('a') && self.spec.labels[k] != '')",
    "self.spec.free.anything.goes == 1",
    "has(self.spec.mode) && self.metadata.name.startsWith('w')",
    "self.spec.items.filter(i, i.name == 'x').all(i, i.name == 'x')",
    "format.named('dns1123Label').hasValue() && type(self.spec.mode) == string",
    "self.spec.mode == oldSelf.spec.mode",
])
def test_rules_that_match_their_schema_are_accepted(rule: str) -> None:
    assert validate_crd(with_root_rule({"rule": rule})) == []


@pytest.mark.parametrize(("rule", "error"), [
    ("self.spec.nosuch == 1",
     "ERROR: <input>:1:10: undefined field 'nosuch'\n | self.spec.nosuch == 1\n | .........^"),
    ("self.spec.items.all(i, i.nmae == 'x')",
     "ERROR: <input>:1:25: undefined field 'nmae'\n | self.spec.items.all(i, i.nmae == 'x')\n"
     " | ........................^"),
    ("has(self.spec.moed)", "ERROR: <input>:1:14: undefined field 'moed'"),
    ("slef.spec.mode == 'a'", "ERROR: <input>:1:1: undeclared reference to 'slef' (in container '')"),
    ("self.metadata.labels.size() > 0", "ERROR: <input>:1:14: undefined field 'labels'"),
])
def test_a_rule_selecting_what_the_schema_lacks_does_not_compile(rule: str, error: str) -> None:
    [cause] = validate_crd(with_root_rule({"rule": rule}))
    assert cause.field == f"{ROOT}.x-kubernetes-validations[0].rule"
    assert cause.reason == "FieldValueInvalid"
    assert cause.message.startswith('Invalid value: "')
    assert f"compilation failed: {error}" in cause.message


def test_a_message_expression_is_checked_too() -> None:
    [cause] = validate_crd(with_root_rule({"rule": "true", "messageExpression": "self.spec.nope"}))
    assert cause.field == f"{ROOT}.x-kubernetes-validations[0].messageExpression"
    assert "messageExpression compilation failed: ERROR: <input>:1:10: undefined field 'nope'" in cause.message


def list_rule(rule: str, **limits: Any) -> dict[str, Any]:
    items = {"type": "array", "items": {"type": "string", **limits.pop("item", {})}, **limits,
             "x-kubernetes-validations": [{"rule": rule}]}
    return crd({"type": "object", "properties": {"spec": {"type": "object", "properties": {"xs": items}}}})


def test_a_rule_too_costly_for_an_unbounded_list_is_refused_and_bounds_fix_it() -> None:
    quadratic = "self.all(x, self.exists_one(y, x == y))"
    rule_field = f"{ROOT}.properties[spec].properties[xs].x-kubernetes-validations[0].rule"
    causes = [(c.reason, c.field, c.message) for c in validate_crd(list_rule(quadratic))]
    assert causes[0] == ("FieldValueForbidden", rule_field,
                         f"Forbidden: estimated rule cost exceeds budget by factor of more than 100x {ADVICE}")
    assert [field for _, field, _ in causes[1:]] == [rule_field, ROOT]  # it also sinks the CRD's total
    assert validate_crd(list_rule(quadratic, maxItems=100, item={"maxLength": 64})) == []


def test_rules_repeated_over_an_unbounded_list_exceed_the_crd_total() -> None:
    per_item = {"type": "object", "properties": {"name": {
        "type": "string", "x-kubernetes-validations": [{"rule": "self.matches('^[a-z]+$')"}]}}}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "xs": {"type": "array", "items": per_item}}}}}
    causes = validate_crd(crd(schema))
    assert [(c.field, c.message) for c in causes] == [
        (f"{ROOT}.properties[spec].properties[xs].items.properties[name].x-kubernetes-validations[0].rule",
         "Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"),
        (ROOT, "Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds "
         f"budget by factor of more than 100x {ADVICE}"),
    ]
    schema["properties"]["spec"]["properties"]["xs"]["maxItems"] = 100
    per_item["properties"]["name"]["maxLength"] = 63
    assert validate_crd(crd(schema)) == []


UPSTREAM_CRDS = Path("/work/shared/upstream/crds")


@pytest.mark.skipif(not UPSTREAM_CRDS.is_dir(), reason="upstream CRDs not available")
def test_upstreams_crds_and_herds_own_pass_the_type_and_cost_checks() -> None:
    upstream = [yaml.safe_load(f.read_text()) for f in sorted(UPSTREAM_CRDS.glob("*.yaml"))]
    for written in [*upstream, *all_crds()]:
        checked = copy.deepcopy(written)
        default_crd(checked)
        assert validate_crd(checked) == [], checked["metadata"]["name"]


def test_a_resources_root_always_has_api_version_kind_and_metadata_name() -> None:
    undeclared = crd({"type": "object", "properties": {"spec": SPEC}, "x-kubernetes-validations": [
        {"rule": "self.metadata.name.startsWith('w') && self.kind == 'Widget' && self.apiVersion != ''"}]})
    assert validate_crd(undeclared) == []


@pytest.mark.parametrize(("source", "shape"), [
    ("a || b && c", "binary:||(ident:a, binary:&&(ident:b, ident:c))"),
    ("x ? y : z", "ternary(ident:x, ident:y, ident:z)"),
    ("!a.b[0].c(1)", "unary:!(call:c(index(select:b(ident:a), literal), literal))"),
    ("[1, 'two'].all(v, v in {'k': 1})", "call:all(list(literal, literal), ident:v, binary:in(ident:v, map(literal, "
     "literal)))"),
    ("self.?opt.orValue('')", "call:orValue(select:opt(ident:self), literal)"),
])
def test_the_parser_reads_cels_grammar(source: str, shape: str) -> None:
    def show(node: Node) -> str:
        head = node.kind + (f":{node.name}" if node.name else "")
        parts = ([node.target] if node.target is not None else []) + list(node.args)
        return head + (f"({', '.join(show(p) for p in parts)})" if parts else "")

    assert show(parse(source)) == shape


def test_syntax_the_parser_does_not_know_is_left_to_the_library() -> None:
    with pytest.raises(ParseError):
        parse("Msg{field: 1}")
    type_check("Msg{field: 1} == self.nosuch", {"type": "object"}, root=False, with_old_self=False)  # not judged

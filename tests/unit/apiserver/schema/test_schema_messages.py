"""Bad values and causes are printed the way kube-apiserver (Go) prints them."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.schema.messages import (
    duplicate,
    go_float,
    go_json,
    go_quote,
    invalid,
    not_supported,
    render_value,
    required,
    too_long,
    too_many,
)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("abc", '"abc"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("line\nbreak\ttab", '"line\\nbreak\\ttab"'),
        ("\x00\x7f", '"\\x00\\x7f"'),
        ("héllo ☃", '"héllo ☃"'),
        ("\u200b", '"\\u200b"'),
    ],
)
def test_strings_are_quoted_like_go_percent_q(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (1.0, "1"),
        (0.5, "0.5"),
        (-2.25, "-2.25"),
        (123456.0, "123456"),
        (1000000.0, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e100, "1e+100"),
        (0.0, "0"),
        (float("inf"), "+Inf"),
    ],
)
def test_floats_print_like_go_percent_v(value: float, printed: str) -> None:
    assert go_float(value) == printed


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ({"b": 1, "a": [True, None, "x"]}, '{"a":[true,null,"x"],"b":1}'),
        ({"f": 1.0, "g": 1e21, "h": 1e-7}, '{"f":1,"g":1e+21,"h":1e-7}'),
        ("<a&b>", '"\\u003ca\\u0026b\\u003e"'),
        ("tab\there", '"tab\\there"'),
        ([], "[]"),
    ],
)
def test_json_is_encoded_like_go_json_marshal(value: Any, encoded: str) -> None:
    assert go_json(value) == encoded


@pytest.mark.parametrize(
    ("value", "rendered"),
    [("x", '"x"'), (3, "3"), (2.5, "2.5"), (True, "true"), (None, "null"), ({"k": "v"}, '{"k":"v"}')],
)
def test_bad_values_render_per_go_type(value: Any, rendered: str) -> None:
    assert render_value(value) == rendered


def test_cause_constructors_use_kube_reasons_and_phrases() -> None:
    assert required("spec.a").to_dict() == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.a",
    }
    assert required("spec.a", "must not be empty").message == "Required value: must not be empty"
    assert invalid("spec.n", 0, "too small").message == "Invalid value: 0: too small"
    assert (
        not_supported("spec.e", "c", ["a", "b"]).message
        == 'Unsupported value: "c": supported values: "a", "b"'
    )
    assert too_long("spec.s", 5).message == "Too long: may not be more than 5 bytes"
    assert too_long("spec.s", 1).message == "Too long: may not be more than 1 byte"
    assert too_many("spec.l", 4, 3).message == "Too many: 4: must have at most 3 items"
    assert duplicate("spec.l[1]", {"name": "a"}).message == 'Duplicate value: {"name":"a"}'

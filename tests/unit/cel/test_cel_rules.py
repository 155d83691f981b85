"""herd.cel: compiling one `x-kubernetes-validations` entry and running it, as both evaluators (the API server's
and the ClusterClass variables') see it."""

from __future__ import annotations

from typing import Any

import pytest

from herd.cel import FunctionLibrary, RuleCompileError, compile_error, compile_rule, library_error_text, run


def _run(raw: dict[str, Any], value: Any, library: FunctionLibrary | None = None) -> tuple[str, str] | None:
    return run(compile_rule(raw, library), {"self": value})


def test_a_passing_rule_answers_none_and_a_failing_one_its_reason_and_message() -> None:
    raw = {"rule": "self.replicas <= 5", "message": "at most 5", "reason": "FieldValueForbidden"}
    assert _run(raw, {"replicas": 3}) is None
    assert _run(raw, {"replicas": 7}) == ("FieldValueForbidden", "at most 5")


@pytest.mark.parametrize(("extra", "message"), [
    ({"messageExpression": "'got ' + string(self.n)", "message": "m"}, "got 7"),
    ({"messageExpression": "'two\\nlines'", "message": "m"}, "m"),  # not a single line: the message instead
    ({"messageExpression": "self.missing", "message": "m"}, "m"),  # a failing messageExpression: likewise
    ({}, "failed rule: self.n < 5"),
])
def test_the_message_is_the_expressions_then_the_static_one_then_one_naming_the_rule(
        extra: dict[str, Any], message: str) -> None:
    assert _run({"rule": "self.n < 5", **extra}, {"n": 7}) == ("FieldValueInvalid", message)


def test_an_unknown_reason_is_field_value_invalid() -> None:
    assert _run({"rule": "false", "reason": "Teapot"}, {}) == ("FieldValueInvalid", "failed rule: false")


@pytest.mark.parametrize(("rule", "detail"), [
    ("self.missing > 1", "self.missing > 1: no such key: missing"),
    ("self.n", "self.n: rule must evaluate to a bool"),
])
def test_an_evaluation_error_is_the_values_fault_naming_the_rule(rule: str, detail: str) -> None:
    assert _run({"rule": rule, "reason": "FieldValueForbidden"}, {"n": 1}) == ("FieldValueInvalid", detail)


def test_compile_errors_name_the_part_that_does_not_compile() -> None:
    assert compile_error({"rule": "self.n < 5"}) is None
    rule_error = compile_error({"rule": "self.n <"})
    assert rule_error is not None and rule_error[0] == "rule" and rule_error[1].startswith("compilation failed: ")
    message_error = compile_error({"rule": "true", "messageExpression": "1 +"})
    assert message_error is not None and message_error[0] == "messageExpression"
    assert message_error[1].startswith("messageExpression compilation failed: ")
    with pytest.raises(RuleCompileError) as raised:
        compile_rule({"rule": "true", "messageExpression": "1 +"})
    assert raised.value.in_message_expression and "\n" in raised.value.detail  # the library's text, unfolded


def test_transition_rules_are_told_apart_and_apply_only_with_an_old_value_unless_optional() -> None:
    plain, transition = compile_rule({"rule": "self.n > 0"}), compile_rule({"rule": "self.n >= oldSelf.n"})
    optional = compile_rule({"rule": "oldSelf.hasValue()", "optionalOldSelf": True})
    assert (plain.is_transition, transition.is_transition) == (False, True)
    assert plain.applies(False) and not transition.applies(False) and transition.applies(True)
    assert optional.applies(False)


def test_a_library_is_registered_only_for_rules_that_call_one_of_its_functions() -> None:
    library = FunctionLibrary({"strings.double": lambda text: text * 2})
    assert compile_rule({"rule": "self == 'a'"}, library).functions is None
    calling = {"rule": "'ab' == strings.double(self)"}
    assert compile_rule(calling, library).functions is library.functions
    assert _run(calling, "a", library) == ("FieldValueInvalid", "failed rule: 'ab' == strings.double(self)")
    assert _run({"rule": "'aa' == strings.double(self)"}, "a", library) is None


def test_a_library_functions_error_is_shown_without_the_bindings_wrapping() -> None:
    def refuse(text: str) -> bool:
        raise ValueError(f"cannot read {text!r}")

    library = FunctionLibrary({"refuse": refuse})
    rule = compile_rule({"rule": "refuse(self)"}, library)
    assert run(rule, {"self": "x"}, library_error_text) == ("FieldValueInvalid", "refuse(self): cannot read 'x'")
    wrapped = run(rule, {"self": "x"})
    assert wrapped is not None and "Python function call failed: ValueError: cannot read 'x'" in wrapped[1]

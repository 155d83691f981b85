"""Compiling and running one `x-kubernetes-validations` entry.

A rule compiles once per text (the programs are cached), and what kube-apiserver reads of the entry (message,
messageExpression, reason, fieldPath, optionalOldSelf) is kept beside the programs. Running it answers None when
the value passes, else the reason and the message: the messageExpression's result when it is a non-empty single
line, else `message`, else one naming the rule; an evaluation error is the value's fault (FieldValueInvalid).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import cel

REASONS = frozenset({"FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate", "FieldValueInvalid"})
_OLD_SELF = re.compile(r"\boldSelf\b")
_LOOP_MACRO = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(")
# how the binding reports an exception raised by one of the Python functions a rule calls
_WRAPPED_ERROR = re.compile(r"Python function call failed: \w+: (.*?)\.? Check function arguments and their types\.")

Functions = dict[str, Callable[..., Any]]


class RuleCompileError(ValueError):
    """A rule or messageExpression that does not compile; `detail` is the library's reason as it gave it."""

    def __init__(self, detail: str, *, in_message_expression: bool = False) -> None:
        self.detail = detail
        self.in_message_expression = in_message_expression
        super().__init__(f"messageExpression compilation failed: {detail}" if in_message_expression else detail)


@dataclass(frozen=True)
class FunctionLibrary:
    """The Python functions an evaluator offers its rules, registered only for rules that call one of them:
    registering them costs more than running a small rule."""

    functions: Functions
    # last name components, to tell from a program's references whether it calls one of these
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(name.rsplit(".", 1)[-1] for name in self.functions))

    def needed_by(self, *programs: cel.Program | None) -> Functions | None:
        """The functions to register for these programs: all of them when any is called, else None."""
        called = any(p is not None and self.names.intersection(p.functions()) for p in programs)
        return self.functions if called else None


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> cel.Program:
    """The program of one CEL expression, compiled once per text; RuleCompileError when it does not compile."""
    try:
        return cel.compile(source)
    except (ValueError, RuntimeError, TypeError) as err:
        raise RuleCompileError(str(err)) from None


@dataclass(frozen=True)
class CompiledRule:
    """One compiled entry of `x-kubernetes-validations`."""

    source: str
    program: cel.Program
    message: str
    message_program: cel.Program | None
    field_path: str
    reason: str  # one of REASONS; FieldValueInvalid when the entry names none of them
    is_transition: bool  # reads `oldSelf`: runs only where there is an old value, unless optional_old_self
    optional_old_self: bool
    loop_depth: int  # how many comprehensions the rule nests: the exponent of its cost estimate
    functions: Functions | None = field(compare=False)  # what the rule's context registers

    def applies(self, has_old: bool) -> bool:
        """Transition rules run only on updates that have an old value, unless optionalOldSelf."""
        return not self.is_transition or has_old or self.optional_old_self


def compile_rule(raw: dict[str, Any], library: FunctionLibrary | None = None) -> CompiledRule:
    """Compile one validation rule; RuleCompileError says what is wrong with the rule or its messageExpression."""
    source = str(raw.get("rule") or "")
    program = compile_expression(source)
    expression = raw.get("messageExpression")
    try:
        message_program = compile_expression(expression) if isinstance(expression, str) and expression else None
    except RuleCompileError as err:
        raise RuleCompileError(err.detail, in_message_expression=True) from None
    reason = raw.get("reason")
    return CompiledRule(
        source=source,
        program=program,
        message=str(raw.get("message") or ""),
        message_program=message_program,
        field_path=str(raw.get("fieldPath") or ""),
        reason=reason if isinstance(reason, str) and reason in REASONS else "FieldValueInvalid",
        is_transition=bool(_OLD_SELF.search(source)),
        optional_old_self=raw.get("optionalOldSelf") is True,
        loop_depth=len(_LOOP_MACRO.findall(source)),
        functions=library.needed_by(program, message_program) if library is not None else None,
    )


def compile_error(raw: dict[str, Any]) -> tuple[str, str] | None:
    """(`rule` or `messageExpression`, why) when the entry does not compile, in kube's words; None when it does."""
    try:
        compile_rule(raw)
    except RuleCompileError as err:
        if err.in_message_expression:
            return "messageExpression", str(err)
        return "rule", f"compilation failed: {err}"
    return None


def one_line(text: object) -> str:
    """An error's (or any) text with its white space folded onto one line."""
    return " ".join(str(text).split())


def library_error_text(err: Exception) -> str:
    """An evaluation error on one line, a library function's own error without the binding's wrapping."""
    text = one_line(err)
    wrapped = _WRAPPED_ERROR.search(text)
    return wrapped.group(1) if wrapped else text


def run(rule: CompiledRule, variables: dict[str, Any],
        error_text: Callable[[Exception], str] = one_line) -> tuple[str, str] | None:
    """None when the rule holds for `variables` (`self`, and `oldSelf` as the evaluator binds it), else (reason,
    message)."""
    context = cel.Context(variables=variables, functions=rule.functions)
    try:
        result = rule.program.execute(context)
    except KeyError as err:
        return "FieldValueInvalid", f"{rule.source.strip()}: no such key: {err.args[0]}"
    except Exception as err:  # any evaluation error (division by zero, bad regex, ...) is the value's fault
        return "FieldValueInvalid", f"{rule.source.strip()}: {error_text(err)}"
    if result is True:
        return None
    if result is not False:
        return "FieldValueInvalid", f"{rule.source.strip()}: rule must evaluate to a bool"
    return rule.reason, _message(rule, context)


def _message(rule: CompiledRule, context: cel.Context) -> str:
    if rule.message_program is not None:
        try:
            text = rule.message_program.execute(context)
        except Exception:  # a broken messageExpression falls back to the message, as kube-apiserver does
            text = None
        if isinstance(text, str) and text.strip() and "\n" not in text:
            return text
    return rule.message or f"failed rule: {rule.source.strip()}"

"""CEL `x-kubernetes-validations` rules of CRD schemas, evaluated as kube-apiserver does.

The expressions run on `common-expression-language` (Rust bindings): it is the one PyPI CEL
library fast enough to evaluate a 100-item uniqueness rule in milliseconds. This module keeps
it behind a thin evaluator: rules are compiled once per rule text, `self` is bound to the value
at the schema node that carries the rule (and `oldSelf` to the old value on updates), and a
failure becomes a Kubernetes field cause.

Kubernetes CEL libraries covered: the CEL standard library (macros `all`/`exists`/
`exists_one`/`map`/`filter`, `has`, `size`, `in`, `matches`, `startsWith`/`endsWith`/
`contains`), the extended strings library (`charAt`, `indexOf`, `lastIndexOf`, `lowerAscii`,
`upperAscii`, `replace`, `split`, `substring`, `trim`, `join`), the lists library (`isSorted`,
`sum`, `min`, `max`, `indexOf`, `lastIndexOf` on lists), the regex library (`find`, `findAll`),
sets (`sets.contains`, `sets.equivalent`, `sets.intersects`), the math and base64 encoders, and the
quantity (cel_quantity), URL, IP and CIDR (cel_network) and format (cel_format) libraries.
Not covered: authz and semver.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cel
from cel import stdlib

from herd.apiserver.schema import cel_format, cel_network, cel_quantity
from herd.apiserver.schema.regex import compile_pattern

# kube-apiserver's limits: one rule call, and all the rules of one object together.
PER_CALL_COST_LIMIT = 1_000_000
PER_OBJECT_COST_LIMIT = 10_000_000
_LOOP_MACRO = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(")
_OLD_SELF = re.compile(r"\boldSelf\b")
# how the binding reports an exception raised by one of our functions
_WRAPPED_ERROR = re.compile(r"Python function call failed: \w+: (.*?)\.? Check function arguments and their types\.")
# The binding logs each failing Python function call; that failure is the object's, told in the answer instead.
logging.getLogger("cel").setLevel(logging.ERROR)
_REASONS = {"FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate", "FieldValueInvalid"}


class RuleCompileError(ValueError):
    """A rule or messageExpression that does not compile; the text says why."""


def _list_index_of(items: list[Any], item: Any) -> int:
    return next((i for i, x in enumerate(items) if x == item), -1)


def _list_last_index_of(items: list[Any], item: Any) -> int:
    return next((i for i in range(len(items) - 1, -1, -1) if items[i] == item), -1)


def _index_of(target: Any, item: Any, *offset: int) -> int:
    """Kubernetes' lists library and the strings library share the name; dispatch on the receiver."""
    return _list_index_of(target, item) if isinstance(target, list) else stdlib.index_of(target, item, *offset)


def _last_index_of(target: Any, item: Any, *offset: int) -> int:
    if isinstance(target, list):
        return _list_last_index_of(target, item)
    return stdlib.last_index_of(target, item, *offset)


def _is_sorted(items: list[Any]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(items))


def _find(text: str, pattern: str) -> str:
    found = compile_pattern(pattern).search(text)
    return found.group(0) if found else ""


def _find_all(text: str, pattern: str, *limit: int) -> list[str]:
    matches = [m.group(0) for m in compile_pattern(pattern).finditer(text)]
    return matches[: limit[0]] if limit and limit[0] >= 0 else matches


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **stdlib.STDLIB_FUNCTIONS,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "isSorted": _is_sorted,
    "find": _find,
    "findAll": _find_all,
    **cel_quantity.FUNCTIONS,
    **cel_network.FUNCTIONS,
    **cel_format.FUNCTIONS,
}

# Last name components, to tell from a program's references whether it calls any of ours.
_FUNCTION_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in _FUNCTIONS)


def _needs_functions(*programs: cel.Program | None) -> bool:
    """Registering our functions doubles a small rule's cost, so only rules that call one get them."""
    return any(p is not None and _FUNCTION_NAMES.intersection(p.functions()) for p in programs)


@lru_cache(maxsize=4096)
def _program(source: str) -> cel.Program:
    try:
        return cel.compile(source)
    except (ValueError, RuntimeError, TypeError) as err:
        raise RuleCompileError(str(err)) from None


@dataclass(frozen=True)
class Rule:
    """One compiled entry of `x-kubernetes-validations`."""

    source: str
    program: cel.Program
    message: str
    message_program: cel.Program | None
    field_path: str
    reason: str
    is_transition: bool
    optional_old_self: bool
    loop_depth: int
    needs_functions: bool

    def applies(self, has_old: bool) -> bool:
        """Transition rules run only on updates that have an old value, unless optionalOldSelf."""
        return not self.is_transition or has_old or self.optional_old_self


def compile_rule(raw: dict[str, Any]) -> Rule:
    """Compile one validation rule; RuleCompileError names what is wrong."""
    source = str(raw.get("rule") or "")
    program = _program(source)
    expression = raw.get("messageExpression")
    try:
        message_program = _program(expression) if isinstance(expression, str) and expression else None
    except RuleCompileError as err:
        raise RuleCompileError(f"messageExpression compilation failed: {err}") from None
    reason = raw.get("reason")
    return Rule(
        source=source,
        program=program,
        message=str(raw.get("message") or ""),
        message_program=message_program,
        field_path=str(raw.get("fieldPath") or ""),
        reason=reason if isinstance(reason, str) and reason in _REASONS else "FieldValueInvalid",
        is_transition=bool(_OLD_SELF.search(source)),
        optional_old_self=raw.get("optionalOldSelf") is True,
        loop_depth=len(_LOOP_MACRO.findall(source)),
        needs_functions=_needs_functions(program, message_program),
    )


def compile_error(raw: dict[str, Any]) -> tuple[str, str] | None:
    """(`rule` or `messageExpression`, why) when the rule does not compile; None when it does."""
    try:
        compile_rule(raw)
    except RuleCompileError as err:
        text = str(err)
        if text.startswith("messageExpression"):
            return "messageExpression", text
        return "rule", f"compilation failed: {text}"
    return None


def value_size(value: Any) -> int:
    """How many JSON values `value` holds, itself included: the unit of the cost estimate."""
    if isinstance(value, dict):
        return 1 + sum(value_size(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(value_size(v) for v in value)
    return 1


def estimated_cost(rule: Rule, size: int) -> int:
    """An upper bound of the rule's work: each comprehension may loop over every value once more.

    The library cannot be interrupted once it runs, so an expensive call is refused before it
    starts rather than stopped midway.
    """
    return int(size ** max(1, rule.loop_depth))


@dataclass
class Outcome:
    """What one rule said: None when it passed, else (reason, detail)."""

    failure: tuple[str, str] | None


def evaluate(rule: Rule, value: Any, old: Any, has_old: bool) -> Outcome:
    """Run `rule` with `self` = value (and `oldSelf` = old when there is one)."""
    variables: dict[str, Any] = {"self": value}
    if rule.is_transition:
        variables["oldSelf"] = cel.OptionalValue.of(old) if rule.optional_old_self and has_old else (
            cel.OptionalValue.none() if rule.optional_old_self else old)
    context = cel.Context(variables=variables, functions=_FUNCTIONS if rule.needs_functions else None)
    try:
        result = rule.program.execute(context)
    except KeyError as err:
        return Outcome(("FieldValueInvalid", f"{rule.source.strip()}: no such key: {err.args[0]}"))
    except Exception as err:  # any evaluation error (division by zero, bad regex, ...) is the object's fault
        return Outcome(("FieldValueInvalid", f"{rule.source.strip()}: {_error_text(err)}"))
    if result is True:
        return Outcome(None)
    if result is not False:
        return Outcome(("FieldValueInvalid", f"{rule.source.strip()}: rule must evaluate to a bool"))
    return Outcome((rule.reason, _message(rule, context)))


def _error_text(err: Exception) -> str:
    """The evaluation error on one line; a library function's own error without the binding's wrapping."""
    text = " ".join(str(err).split())
    wrapped = _WRAPPED_ERROR.search(text)
    return wrapped.group(1) if wrapped else text


def _message(rule: Rule, context: cel.Context) -> str:
    """messageExpression's result when it gives a non-empty single-line string, else message or the default."""
    if rule.message_program is not None:
        try:
            text = rule.message_program.execute(context)
        except Exception:  # a broken messageExpression falls back to the message, as in kube
            text = None
        if isinstance(text, str) and text.strip() and "\n" not in text:
            return text
    return rule.message or f"failed rule: {rule.source.strip()}"

"""CEL rules (`x-kubernetes-validations`) for webhooks and controllers, over `common-expression-language`.

The API server has its own evaluator for CRD schemas; webhooks and controllers may not import it (they must run
against any Kubernetes), and the rules they check are few and small: the schemas of ClusterClass variables. This
is the thin part they need: compile once per rule text, run with `self` (and `oldSelf` for transition rules),
turn a false result into a message. The CEL standard library and its string, list, math, set and base64
extensions are available; Kubernetes' url, quantity, ip and format libraries are not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cel
from cel import stdlib

_OLD_SELF = re.compile(r"\boldSelf\b")
_EXTENSIONS = frozenset(name.rsplit(".", 1)[-1] for name in stdlib.STDLIB_FUNCTIONS)


class RuleError(ValueError):
    """A rule or messageExpression that does not compile; the text says why."""


@lru_cache(maxsize=2048)
def _compile(source: str) -> cel.Program:
    try:
        return cel.compile(source)
    except (ValueError, RuntimeError, TypeError) as err:
        raise RuleError(" ".join(str(err).split())) from None


@dataclass(frozen=True)
class CompiledRule:
    """One compiled `x-kubernetes-validations` entry."""

    rule: str
    program: cel.Program
    message: str
    message_program: cel.Program | None
    reason: str
    field_path: str

    @property
    def is_transition(self) -> bool:
        """A rule reading `oldSelf` runs only when there is an old value."""
        return bool(_OLD_SELF.search(self.rule))


def compile_rule(raw: dict[str, Any]) -> CompiledRule:
    """Compile one rule; RuleError says what is wrong with the rule or its messageExpression."""
    rule = str(raw.get("rule") or "")
    program = _compile(rule)
    expression = raw.get("messageExpression")
    try:
        message_program = _compile(expression) if isinstance(expression, str) and expression else None
    except RuleError as err:
        raise RuleError(f"messageExpression compilation failed: {err}") from None
    return CompiledRule(rule, program, str(raw.get("message") or ""), message_program,
                        str(raw.get("reason") or "FieldValueInvalid"), str(raw.get("fieldPath") or ""))


def _context(rule: CompiledRule, value: Any, old: Any) -> cel.Context:
    variables = {"self": value, **({"oldSelf": old} if rule.is_transition else {})}
    wanted = set(rule.program.functions())
    if rule.message_program is not None:
        wanted |= set(rule.message_program.functions())
    # Registering the extension functions costs more than a small rule itself: only when the rule calls one.
    functions = stdlib.STDLIB_FUNCTIONS if wanted & _EXTENSIONS else None
    return cel.Context(variables=variables, functions=functions)


def failure(rule: CompiledRule, value: Any, old: Any = None) -> str | None:
    """None when `value` satisfies the rule, else the message to report (messageExpression, message, or one
    naming the rule)."""
    context = _context(rule, value, old)
    try:
        result = rule.program.execute(context)
    except KeyError as err:
        return f"{rule.rule.strip()}: no such key: {err.args[0]}"
    except Exception as err:  # any evaluation error (a bad regex, a type mismatch, ...) is the value's fault
        return f"{rule.rule.strip()}: {' '.join(str(err).split())}"
    if result is True:
        return None
    if result is not False:
        return f"{rule.rule.strip()}: rule must evaluate to a bool"
    if rule.message_program is not None:
        try:
            text = rule.message_program.execute(context)
        except Exception:  # a broken messageExpression falls back to the message, as kube-apiserver does
            text = None
        if isinstance(text, str) and text.strip() and "\n" not in text:
            return text
    return rule.message or f"failed rule: {rule.rule.strip()}"

"""CEL rules (`x-kubernetes-validations`) for webhooks and controllers: the schemas of ClusterClass variables.

The API server has its own evaluator for CRD schemas; webhooks and controllers may not import it (they must run
against any Kubernetes). Both build on `herd.cel`; what is this evaluator's own: compile errors are told on one
line, `oldSelf` is the old value itself (ClusterClass rules have no optionalOldSelf), and the functions are the CEL
standard library with its string, list, math, set and base64 extensions; Kubernetes' url, quantity, ip and format
libraries are not available.
"""

from __future__ import annotations

from typing import Any

from cel import stdlib

from herd.cel import CompiledRule, FunctionLibrary, RuleCompileError, one_line, run
from herd.cel import compile_rule as compile_entry

RuleError = RuleCompileError  # the text of the ones compile_rule raises is on one line
_STDLIB = FunctionLibrary(stdlib.STDLIB_FUNCTIONS)


def compile_rule(raw: dict[str, Any]) -> CompiledRule:
    """Compile one rule; RuleError says what is wrong with the rule or its messageExpression."""
    try:
        return compile_entry(raw, _STDLIB)
    except RuleCompileError as err:
        raise RuleError(one_line(err.detail), in_message_expression=err.in_message_expression) from None


def failure(rule: CompiledRule, value: Any, old: Any = None) -> str | None:
    """None when `value` satisfies the rule, else the message to report (messageExpression, message, or one
    naming the rule)."""
    variables = {"self": value, **({"oldSelf": old} if rule.is_transition else {})}
    failed = run(rule, variables)
    return None if failed is None else failed[1]

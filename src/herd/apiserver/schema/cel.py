"""CEL `x-kubernetes-validations` rules of CRD schemas, evaluated as kube-apiserver does.

The expressions run on `common-expression-language` (Rust bindings): it is the one PyPI CEL
library fast enough to evaluate a 100-item uniqueness rule in milliseconds. Compiling and running
a rule is `herd.cel`'s (shared with the ClusterClass variables' evaluator); this module adds the
Kubernetes libraries below, binds `oldSelf` as optionalOldSelf asks, and estimates a call's cost.

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
from dataclasses import dataclass
from typing import Any

import cel
from cel import stdlib

from herd.apiserver.schema import cel_format, cel_network, cel_quantity
from herd.apiserver.schema.regex import compile_pattern
from herd.cel import CompiledRule, FunctionLibrary, library_error_text, run
from herd.cel import compile_error as compile_error  # what schema_rules imports from here
from herd.cel import compile_rule as compile_entry

# kube-apiserver's limits: one rule call, and all the rules of one object together.
PER_CALL_COST_LIMIT = 1_000_000
PER_OBJECT_COST_LIMIT = 10_000_000
# The binding logs each failing Python function call; that failure is the object's, told in the answer instead.
logging.getLogger("cel").setLevel(logging.ERROR)
Rule = CompiledRule


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


_LIBRARY = FunctionLibrary({
    **stdlib.STDLIB_FUNCTIONS,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "isSorted": _is_sorted,
    "find": _find,
    "findAll": _find_all,
    **cel_quantity.FUNCTIONS,
    **cel_network.FUNCTIONS,
    **cel_format.FUNCTIONS,
})


def compile_rule(raw: dict[str, Any]) -> Rule:
    """Compile one validation rule with the Kubernetes libraries; RuleCompileError names what is wrong."""
    return compile_entry(raw, _LIBRARY)


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
    return Outcome(run(rule, variables, library_error_text))

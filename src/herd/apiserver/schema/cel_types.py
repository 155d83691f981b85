"""How the Kubernetes CEL libraries' own types (quantity, URL, IP, CIDR, format) travel through the evaluator.

`common-expression-language` passes only CEL's own values to and from Python functions, so each such value is a
one-entry map whose key names its type (`{"@ip": "10.0.0.1"}`); the entry holds a canonical form, so CEL's map
equality is the type's own (two spellings of one address are equal). Functions of the libraries check the tag and
raise CelError (the rule's evaluation error) when handed anything else.
"""

from __future__ import annotations

from typing import Any


class CelError(ValueError):
    """An evaluation error of a library function (shown in the rule's failure, never a server error)."""


def tagged(tag: str, value: str) -> dict[str, str]:
    return {tag: value}


def untag(tag: str, value: Any) -> str | None:
    """The canonical text inside a value of type `tag`, or None when `value` is not one."""
    if isinstance(value, dict) and len(value) == 1:
        inner = value.get(tag)
        return inner if isinstance(inner, str) else None
    return None

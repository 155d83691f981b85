"""Kubernetes' CEL quantity library: `quantity("1.5Gi")`, `isQuantity`, comparisons and arithmetic.

A quantity is a CEL map `{"@quantity": "<exact rational value>"}` (the library has no custom types), so two
quantities of the same amount written differently (`1Gi`, `1024Mi`) are equal, as kube's are. The value is
exact (a `Fraction`), as kube's `resource.Quantity` is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from herd.apiserver.schema.cel_types import CelError, tagged, untag

TAG = "@quantity"
_NUMBER = re.compile(r"([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)", re.ASCII | re.DOTALL)
_EXPONENT = re.compile(r"[eE]([+-]?\d+)", re.ASCII)
_SUFFIXES = {
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_quantity(text: str) -> Fraction | None:
    """The exact value of a Kubernetes quantity string, or None when it is not one."""
    match = _NUMBER.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    sign, digits, suffix = match.groups()
    value = Fraction(digits)
    if suffix in _SUFFIXES:
        value *= _SUFFIXES[suffix]
    elif (exponent := _EXPONENT.fullmatch(suffix)) is not None:
        value *= Fraction(10) ** int(exponent.group(1))
    else:
        return None
    return -value if sign == "-" else value


def _make(value: Fraction) -> dict[str, str]:
    return tagged(TAG, str(value))


def _value(q: Any) -> Fraction:
    raw = untag(TAG, q)
    if raw is None:
        raise CelError("no such overload: expected a quantity")
    return Fraction(raw)


def _operand(other: Any) -> Fraction:
    return Fraction(other) if isinstance(other, int) and not isinstance(other, bool) else _value(other)


def quantity(text: str) -> dict[str, str]:
    value = parse_quantity(text)
    if value is None:
        raise CelError("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    return _make(value)


def is_quantity(text: Any) -> bool:
    return parse_quantity(text) is not None


def sign(q: Any) -> int:
    value = _value(q)
    return (value > 0) - (value < 0)


def is_integer(q: Any) -> bool:
    value = _value(q)
    return value.denominator == 1 and _INT64_MIN <= value <= _INT64_MAX


def as_integer(q: Any) -> int:
    if not is_integer(q):
        raise CelError("cannot convert value to integer")
    return int(_value(q))


def as_approximate_float(q: Any) -> float:
    return float(_value(q))


def compare_to(q: Any, other: Any) -> int:
    a, b = _value(q), _value(other)
    return (a > b) - (a < b)


def is_greater_than(q: Any, other: Any) -> bool:
    return _value(q) > _value(other)


def is_less_than(q: Any, other: Any) -> bool:
    return _value(q) < _value(other)


def add(q: Any, other: Any) -> dict[str, str]:
    return _make(_value(q) + _operand(other))


def sub(q: Any, other: Any) -> dict[str, str]:
    return _make(_value(q) - _operand(other))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "quantity": quantity, "isQuantity": is_quantity, "sign": sign, "isInteger": is_integer,
    "asInteger": as_integer, "asApproximateFloat": as_approximate_float, "compareTo": compare_to,
    "isGreaterThan": is_greater_than, "isLessThan": is_less_than, "add": add, "sub": sub,
}

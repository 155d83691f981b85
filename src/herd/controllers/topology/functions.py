"""The functions ClusterClass templates may call: Go's builtins and the deterministic Sprig functions upstream
allows (no `now`, no random ones), with Go's way of printing values."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import yaml

from .semver import semver_compare


class TemplateError(ValueError):
    """A template that cannot be parsed or rendered; the message says where."""


def truthy(value: Any) -> bool:
    """Go's truth for `if`, `and`, `or`, `not`: false, 0, nil and empty strings, lists and maps are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float, str, list, dict, tuple)):
        return bool(value)
    return True


def go_string(value: Any) -> str:
    """A value as Go's fmt prints it with %v."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_string(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    return str(value)


_VERB = re.compile(r"%([-+# 0]*\d*(?:\.\d+)?)([vsdqtxXfgeo%])")


def printf(fmt: str, *args: Any) -> str:
    """Go's Sprintf for the verbs templates use: %v %s %d %q %t %x %f %%."""
    remaining = list(args)

    def one(match: re.Match[str]) -> str:
        flags, verb = match.group(1), match.group(2)
        if verb == "%":
            return "%"
        if not remaining:
            return f"%!{verb}(MISSING)"
        value = remaining.pop(0)
        if verb == "q":
            return json.dumps(go_string(value) if not isinstance(value, str) else value)
        if verb in "dxXo" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return ("%" + flags + verb) % int(value)
        if verb in "feg" and isinstance(value, (int, float)):
            return ("%" + flags + verb) % float(value)
        return ("%" + flags + "s") % go_string(value)
    out = _VERB.sub(one, fmt)
    return out + "".join(f"%!(EXTRA {go_string(v)})" for v in remaining)


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int):
            value = value[key]
        elif value is None:
            return None
        else:
            raise TemplateError(f"can't index item of type {type(value).__name__}")
    return value


def _and(*values: Any) -> Any:
    for value in values:
        if not truthy(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if truthy(value):
            return value
    return values[-1]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TemplateError(f"incompatible types for comparison: {go_string(value)}")
    return float(value)


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, str) and isinstance(b, str):
            return op(a, b)
        return op(_number(a), _number(b))
    return compare


def _eq(first: Any, *others: Any) -> bool:
    def same(a: Any, b: Any) -> bool:
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            return float(a) == float(b)
        return bool(a == b)
    return any(same(first, other) for other in others)


def _default(fallback: Any, *given: Any) -> Any:
    return given[0] if given and truthy(given[0]) else fallback


def _indent(spaces: int, text: str) -> str:
    pad = " " * int(spaces)
    return pad + text.replace("\n", "\n" + pad)


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        return int(float(value)) if value.strip() else 0
    return int(value or 0)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # Go's builtins
    "printf": printf, "print": lambda *a: "".join(go_string(v) for v in a),
    "println": lambda *a: " ".join(go_string(v) for v in a) + "\n",
    "index": _index, "len": lambda v: len(v or []), "not": lambda v: not truthy(v), "and": _and, "or": _or,
    "eq": _eq, "ne": lambda a, b: not _eq(a, b), "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b), "gt": _compare(lambda a, b: a > b), "ge": _compare(lambda a, b: a >= b),
    # Sprig: strings
    "upper": lambda s: go_string(s).upper(), "lower": lambda s: go_string(s).lower(),
    "title": lambda s: go_string(s).title(), "trim": lambda s: go_string(s).strip(),
    "trimAll": lambda c, s: go_string(s).strip(c), "trimPrefix": lambda p, s: go_string(s).removeprefix(p),
    "trimSuffix": lambda p, s: go_string(s).removesuffix(p),
    "replace": lambda old, new, s: go_string(s).replace(old, new), "quote": lambda *a: " ".join(
        json.dumps(go_string(v) if not isinstance(v, str) else v) for v in a if v is not None),
    "squote": lambda *a: " ".join(f"'{go_string(v)}'" for v in a if v is not None),
    "contains": lambda sub, s: sub in go_string(s), "hasPrefix": lambda p, s: go_string(s).startswith(p),
    "hasSuffix": lambda p, s: go_string(s).endswith(p), "repeat": lambda n, s: go_string(s) * int(n),
    "substr": lambda start, end, s: go_string(s)[int(start):int(end) if int(end) >= 0 else None],
    "trunc": lambda n, s: go_string(s)[:int(n)] if int(n) >= 0 else go_string(s)[int(n):],
    "nospace": lambda s: "".join(go_string(s).split()), "indent": _indent,
    "nindent": lambda n, s: "\n" + _indent(n, s), "toString": go_string,
    "join": lambda sep, items: sep.join(go_string(i) for i in items or []),
    "splitList": lambda sep, s: go_string(s).split(sep), "regexMatch": lambda r, s: re.search(r, s) is not None,
    "regexReplaceAll": lambda r, s, repl: re.sub(r, re.sub(r"\$\{?(\d+)\}?", r"\\\1", repl), s),
    "b64enc": lambda s: base64.b64encode(go_string(s).encode()).decode(),
    "b64dec": lambda s: base64.b64decode(go_string(s)).decode(), "sha256sum": lambda s: hashlib.sha256(
        go_string(s).encode()).hexdigest(),
    # Sprig: defaults, logic, numbers, lists, dicts, encodings
    "default": _default, "empty": lambda v: not truthy(v), "coalesce": lambda *a: next(
        (v for v in a if truthy(v)), None), "ternary": lambda a, b, cond: a if truthy(cond) else b,
    "int": _to_int, "int64": _to_int, "float64": lambda v: float(v or 0), "add": lambda *a: sum(a),
    "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a // b if isinstance(
        a, int) and isinstance(b, int) else a / b, "mod": lambda a, b: a % b, "max": lambda *a: max(a),
    "min": lambda *a: min(a), "list": lambda *a: list(a), "first": lambda v: v[0] if v else None,
    "last": lambda v: v[-1] if v else None, "has": lambda item, items: item in (items or []),
    "sortAlpha": lambda v: sorted(go_string(i) for i in v or []), "uniq": lambda v: list(dict.fromkeys(v or [])),
    "dict": lambda *a: {go_string(a[i]): a[i + 1] if i + 1 < len(a) else "" for i in range(0, len(a), 2)},
    "hasKey": lambda d, k: k in (d or {}), "keys": lambda *ds: [k for d in ds for k in (d or {})],
    "get": lambda d, k: (d or {}).get(k, ""), "toJson": lambda v: json.dumps(v, separators=(",", ":")),
    "toYaml": lambda v: yaml.safe_dump(v, default_flow_style=False).rstrip("\n"),
    "fromJson": lambda s: json.loads(s), "kindIs": lambda kind, v: _kind(v) == kind,
    "semverCompare": semver_compare,
}


def _kind(value: Any) -> str:
    """Sprig's kind names for a value."""
    if value is None:
        return "invalid"
    for python_type, name in ((bool, "bool"), (int, "int"), (float, "float64"), (str, "string"), (list, "slice"),
                              (dict, "map")):
        if isinstance(value, python_type):
            return name
    return type(value).__name__

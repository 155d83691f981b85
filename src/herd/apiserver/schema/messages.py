"""Field errors rendered the way kube-apiserver renders them.

kube-apiserver turns every validation failure into a `StatusCause` whose message is the
"error body" of a Go `field.Error`: a fixed phrase for the error type, the offending value
printed Go-style, and a detail. Clients (kubectl, controllers, tests written against a real
cluster) match on these strings, so the value printing follows Go's rules: `%q` for strings,
`%v` for numbers, JSON (sorted keys, Go float syntax) for everything else.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from herd.apiserver.errors import Cause

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
TYPE_INVALID = "FieldValueTypeInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"

_GO_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_JSON_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}
# Go's encoder escapes these so JSON can be embedded in HTML and JavaScript safely.
_JSON_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def go_quote(s: str) -> str:
    """Quote a string like Go's `strconv.Quote` (`%q`): printable runes verbatim, the rest escaped."""
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        else:
            code = ord(ch)
            if code < 0x80:
                out.append(f"\\x{code:02x}")
            elif code <= 0xFFFF:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _digits(f: float) -> tuple[bool, str, int]:
    """Shortest round-trip decimal digits of a finite non-zero float and its decimal-point position."""
    sign, digits, exponent = Decimal(repr(f)).normalize().as_tuple()
    ds = "".join(str(d) for d in digits)
    assert isinstance(exponent, int)
    return bool(sign), ds, len(ds) + exponent


def _fixed(ds: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * (-dp) + ds
    if dp >= len(ds):
        return ds + "0" * (dp - len(ds))
    return ds[:dp] + "." + ds[dp:]


def _exponential(ds: str, dp: int) -> str:
    exp = dp - 1
    mantissa = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def go_float(f: float) -> str:
    """Format a float like Go's `%v` (shortest digits, exponent form outside 1e-4 <= |f| < 1e6)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    neg, ds, dp = _digits(f)
    body = _exponential(ds, dp) if dp - 1 < -4 or dp - 1 >= 6 else _fixed(ds, dp)
    return ("-" if neg else "") + body


def _json_float(f: float) -> str:
    """Format a float like Go's `encoding/json` (fixed notation unless tiny or huge, `e-7` not `e-07`)."""
    if not math.isfinite(f):
        return "null"  # Go refuses to encode these; null is the least surprising stand-in
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    neg, ds, dp = _digits(f)
    if abs(f) < 1e-6 or abs(f) >= 1e21:
        body = _exponential(ds, dp)
        if body[-3:-1] == "-0":
            body = body[:-2] + body[-1]
    else:
        body = _fixed(ds, dp)
    return ("-" if neg else "") + body


def _json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _JSON_SHORT_ESCAPES:
            out.append(_JSON_SHORT_ESCAPES[ch])
        elif ch in _JSON_HTML_ESCAPES:
            out.append(_JSON_HTML_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(value: Any) -> str:
    """Encode a JSON value like Go's `json.Marshal` of unstructured data (sorted keys, compact)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{_json_string(k)}:{go_json(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    return _json_string(str(value))


def render_value(value: Any) -> str:
    """Print a bad value the way a Go field error does: `%q` strings, `%v` scalars, JSON otherwise."""
    if isinstance(value, str):
        return go_quote(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    return go_json(value)


def _body(phrase: str, value: Any, detail: str) -> str:
    text = f"{phrase}: {render_value(value)}"
    return f"{text}: {detail}" if detail else text


def required(field: str, detail: str = "") -> Cause:
    """`Required value[: detail]`."""
    return Cause(REQUIRED, f"Required value: {detail}" if detail else "Required value", field)


def forbidden(field: str, detail: str) -> Cause:
    """`Forbidden: detail`."""
    return Cause(FORBIDDEN, f"Forbidden: {detail}" if detail else "Forbidden", field)


def invalid(field: str, value: Any, detail: str) -> Cause:
    """`Invalid value: <value>: detail`."""
    return Cause(INVALID, _body("Invalid value", value, detail), field)


def type_invalid(field: str, value: Any, detail: str) -> Cause:
    """Like `invalid` but with the TypeInvalid reason (wrong JSON type or string format)."""
    return Cause(TYPE_INVALID, _body("Invalid value", value, detail), field)


def not_supported(field: str, value: Any, supported: list[str]) -> Cause:
    """`Unsupported value: <value>: supported values: "a", "b"`."""
    detail = "supported values: " + ", ".join(go_quote(s) for s in supported) if supported else ""
    return Cause(NOT_SUPPORTED, _body("Unsupported value", value, detail), field)


def too_long(field: str, max_length: int) -> Cause:
    """`Too long: may not be more than N bytes` (kube's wording, although maxLength counts runes)."""
    unit = "byte" if max_length == 1 else "bytes"
    return Cause(TOO_LONG, f"Too long: may not be more than {max_length} {unit}", field)


def too_many(field: str, actual: int, maximum: int) -> Cause:
    """`Too many: <actual>: must have at most N items` (used for maxItems and maxProperties alike)."""
    unit = "item" if maximum == 1 else "items"
    return Cause(TOO_MANY, f"Too many: {actual}: must have at most {maximum} {unit}", field)


def duplicate(field: str, value: Any) -> Cause:
    """`Duplicate value: <value>`."""
    return Cause(DUPLICATE, f"Duplicate value: {render_value(value)}", field)

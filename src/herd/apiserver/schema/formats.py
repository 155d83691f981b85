"""String formats kube-apiserver checks in custom resources, and the numeric ranges of number formats.

kube-apiserver keeps only a fixed list of string formats (the go-openapi `strfmt` registry
minus everything else); any other `format` is silently ignored. The checkers below follow
the behaviour of the Go implementations they stand in for (`net.ParseIP`, `time.Parse`,
`url.ParseRequestURI`, govalidator...), not the RFCs, because that is what users hit.

Numeric formats (`int32`, `int64`, `float`, `double`) are range checks: a value that does not
fit cannot be decoded by typed Go clients (clusterctl, controllers) reading the object.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import unicodedata
from collections.abc import Callable

_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_UUID3 = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_UUID4 = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I)
_UUID5 = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I)
# Standard alphabet, padded, at least one 4-character group (so "" is not valid base64).
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
# go-openapi's date-time check; the unescaped `.` before the fraction is deliberate (it is theirs).
_TIME = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
_GO_DURATION = re.compile(r"^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$", re.ASCII)
_LOOSE_DURATION = re.compile(r"^\s*(?:\d+\s*[A-Za-z\u00b5]+\s*)+$")
_LOOSE_DURATION_PART = re.compile(r"(\d+)\s*([A-Za-z\u00b5]+)")
# Unit spellings accepted by go-openapi's lenient duration parser; the last spelling of each
# group also matches as a prefix ("hours", "minutes"...).
_DURATION_UNITS = (
    ("ns", "nano"),
    ("us", "\u00b5s", "micro"),
    ("ms", "milli"),
    ("s", "sec"),
    ("m", "min"),
    ("h", "hr", "hour"),
    ("d", "day"),
    ("w", "wk", "week"),
)
_MAC = re.compile(
    r"^(?:[0-9A-Fa-f]{2}(?:([:-])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}(?:(?:\1[0-9A-Fa-f]{2}){2}|(?:\1[0-9A-Fa-f]{2}){14})?"
    r"|[0-9A-Fa-f]{4}(?:\.[0-9A-Fa-f]{4}){2}(?:(?:\.[0-9A-Fa-f]{4})|(?:\.[0-9A-Fa-f]{4}){7})?)$"
)
_HOSTNAME = re.compile(
    r"^([a-zA-Z0-9]((-?[a-zA-Z0-9]{0,62})?)|([a-zA-Z0-9](([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.)){1,}"
    r"([a-zA-Z0-9])(-?[a-zA-Z0-9]){1,62})$"
)
_EMAIL_ADDR = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+$")
_EMAIL_NAMED = re.compile(r"^[^<>]*<([^<>]+)>\s*$")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_HEXCOLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_BYTE_VALUE = r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*"
_RGBCOLOR = re.compile(rf"^rgb\({_BYTE_VALUE},{_BYTE_VALUE},{_BYTE_VALUE}\)$")
_SSN = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$", re.ASCII)
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_ISBN10 = re.compile(r"^(?:[0-9]{9}X|[0-9]{10})$")
_ISBN13 = re.compile(r"^[0-9]{13}$")
_CREDIT_CARD = re.compile(
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}"
    r"|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$"
)


def _is_uri(s: str) -> bool:
    # url.ParseRequestURI: an absolute URI (scheme:...) or an absolute path, no control characters.
    if not s or any(ord(c) < 0x20 or c == "\x7f" for c in s):
        return False
    if not (s.startswith("/") or _URI_SCHEME.match(s)):
        return False
    if "://" in s:
        authority = s.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        host = authority.rsplit("@", 1)[-1]
        if " " in host:
            return False
        if host.startswith("["):
            return "]" in host
        if ":" in host:
            port = host.rsplit(":", 1)[1]
            return port == "" or port.isdigit()
    return True


def _is_email(s: str) -> bool:
    # net/mail.ParseAddress also accepts `Name <user@host>`.
    named = _EMAIL_NAMED.match(s)
    return bool(_EMAIL_ADDR.match(named.group(1).strip() if named else s.strip()))


def _is_hostname(s: str) -> bool:
    # go-openapi also allows any Unicode letter or symbol where ASCII letters go; fold those to
    # "a" so one ASCII expression checks the shape.
    folded = "".join("a" if ord(c) > 0x7F and unicodedata.category(c)[0] in "LS" else c for c in s)
    if not _HOSTNAME.match(folded) or len(s.encode()) > 255:
        return False
    return all(len(label.encode()) <= 63 for label in s.split("."))


def _is_ipv4(s: str) -> bool:
    try:
        ipaddress.IPv4Address(s)
        return True
    except ValueError:
        # net.ParseIP also accepts IPv4-mapped IPv6 ("::ffff:1.2.3.4"); govalidator only asks for a dot.
        return "." in s and _is_ipv6_literal(s)


def _is_ipv6_literal(s: str) -> bool:
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return "%" not in s


def _is_ipv6(s: str) -> bool:
    return ":" in s and _is_ipv6_literal(s)


def _is_cidr(s: str) -> bool:
    if "/" not in s or "%" in s:
        return False
    prefix = s.rsplit("/", 1)[1]
    if not prefix.isdigit() or (len(prefix) > 1 and prefix[0] == "0"):
        return False
    try:
        ipaddress.ip_network(s, strict=False)
    except ValueError:
        return False
    return True


def _is_date(s: str) -> bool:
    if not _DATE.match(s):
        return False
    try:
        datetime.date(int(s[0:4]), int(s[5:7]), int(s[8:10]))
    except ValueError:
        return False
    return True


def _is_date_time(s: str) -> bool:
    parts = s.lower().split("t")
    if len(s) < 4 or len(parts) < 2 or not _is_date(parts[0]):
        return False
    m = _TIME.match(parts[1])
    return m is not None and m.group(1) <= "23" and m.group(2) <= "59" and m.group(3) <= "59"


def _is_duration(s: str) -> bool:
    if s.lstrip("+-") == "0" or _GO_DURATION.match(s):
        return True
    if not _LOOSE_DURATION.match(s):
        return False
    for _, unit in _LOOSE_DURATION_PART.findall(s):
        unit = unit.strip().lower()
        for spellings in _DURATION_UNITS:
            if unit in spellings or unit.startswith(spellings[-1]):
                return True
    return False


def _is_isbn10(s: str) -> bool:
    digits = re.sub(r"[\s-]+", "", s)
    if not _ISBN10.match(digits):
        return False
    total = sum((i + 1) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
    return total % 11 == 0


def _is_isbn13(s: str) -> bool:
    digits = re.sub(r"[\s-]+", "", s)
    if not _ISBN13.match(digits):
        return False
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def _is_credit_card(s: str) -> bool:
    digits = re.sub(r"[^0-9]+", "", s)
    if not _CREDIT_CARD.match(digits):
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


STRING_FORMATS: dict[str, Callable[[str], bool]] = {
    "bsonobjectid": lambda s: bool(_OBJECT_ID.match(s)),
    "uri": _is_uri,
    "email": _is_email,
    "hostname": _is_hostname,
    "ipv4": _is_ipv4,
    "ipv6": _is_ipv6,
    "cidr": _is_cidr,
    "mac": lambda s: bool(_MAC.match(s)),
    "uuid": lambda s: bool(_UUID.match(s)),
    "uuid3": lambda s: bool(_UUID3.match(s)),
    "uuid4": lambda s: bool(_UUID4.match(s)),
    "uuid5": lambda s: bool(_UUID5.match(s)),
    "isbn": lambda s: _is_isbn10(s) or _is_isbn13(s),
    "isbn10": _is_isbn10,
    "isbn13": _is_isbn13,
    "creditcard": _is_credit_card,
    "ssn": lambda s: len(s) == 11 and bool(_SSN.match(s)),
    "hexcolor": lambda s: bool(_HEXCOLOR.match(s)),
    "rgbcolor": lambda s: bool(_RGBCOLOR.match(s)),
    "byte": lambda s: bool(_BASE64.match(s)),
    "password": lambda s: True,
    "date": _is_date,
    "duration": _is_duration,
    "datetime": _is_date_time,
}

_FLOAT32_MAX = 3.4028234663852886e38
NUMBER_FORMATS: dict[str, tuple[str, Callable[[int | float], bool]]] = {
    "int32": ("integer", lambda v: -(2**31) <= v <= 2**31 - 1),
    "int64": ("integer", lambda v: -(2**63) <= v <= 2**63 - 1),
    "float": ("number", lambda v: -_FLOAT32_MAX <= v <= _FLOAT32_MAX),
    "double": ("number", lambda v: True),
}


def string_format_checker(fmt: str) -> Callable[[str], bool] | None:
    """The checker for a string `format`, or None when kube-apiserver ignores that format.

    Names are normalised like go-openapi does (dashes dropped), so "date-time" and "datetime"
    are the same format.
    """
    return STRING_FORMATS.get(fmt.replace("-", ""))


def number_format_checker(fmt: str) -> tuple[str, Callable[[int | float], bool]] | None:
    """(type name, range check) for a numeric `format`, or None for formats without a range."""
    return NUMBER_FORMATS.get(fmt)

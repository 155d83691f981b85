"""Kubernetes' CEL format library: `format.dns1123Label().validate(s)`, `format.named("uuid")`, ...

`validate` answers an optional list of kube's error messages: none when the string is valid. A format is the
map `{"@format": "<name>"}`; `format.named(name)` is an optional format (none for an unknown name).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

import cel

from herd.apiserver.schema import formats
from herd.apiserver.schema.cel_types import CelError, tagged, untag
from herd.apiserver.schema.names import dns1035_label_errors, dns1123_subdomain_errors

TAG = "@format"
_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL = re.compile(rf"{_LABEL_FMT}\Z")
_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED = re.compile(rf"{_QUALIFIED_FMT}\Z")


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    shown = "".join(("" if i == 0 else " or ") + f"'{ex}', " for i, ex in enumerate(examples))
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _dns1123_label(value: str) -> list[str]:
    errors = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _LABEL.match(value):
        errors.append(_regex_error("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                                   "or '-', and must start and end with an alphanumeric character", _LABEL_FMT,
                                   "my-name", "123-abc"))
    return errors


def _qualified_name(value: str) -> list[str]:
    prefix, slash, name = value.rpartition("/")
    errors: list[str] = []
    if slash and not prefix:
        errors.append("prefix part must be non-empty")
    elif prefix:
        errors += ["prefix part " + e for e in dns1123_subdomain_errors(prefix)]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if name and not _QUALIFIED.match(name):
        errors.append("name part " + _regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character", _QUALIFIED_FMT, "MyName", "my.name", "123-abc"))
    return errors


def _label_value(value: str) -> list[str]:
    errors = ["must be no more than 63 characters"] if len(value) > 63 else []
    if value and not _QUALIFIED.match(value):
        errors.append(_regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character", f"({_QUALIFIED_FMT})?", "MyValue", "my_value", "12345"))
    return errors


def _prefix(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """A generateName prefix: valid once the random suffix is added, so a trailing '-' is allowed."""
    return lambda value: check(value[:-1] if value.endswith("-") else value)


def _checked(ok: Callable[[str], bool], message: str) -> Callable[[str], list[str]]:
    return lambda value: [] if ok(value) else [message]


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _string_format(name: str) -> Callable[[str], bool]:
    checker = formats.string_format_checker(name)
    assert checker is not None, name
    return checker


_VALIDATORS: dict[str, Callable[[str], list[str]]] = {
    "dns1123Label": _dns1123_label,
    "dns1123Subdomain": dns1123_subdomain_errors,
    "dns1035Label": dns1035_label_errors,
    "qualifiedName": _qualified_name,
    "dns1123LabelPrefix": _prefix(_dns1123_label),
    "dns1123SubdomainPrefix": _prefix(dns1123_subdomain_errors),
    "dns1035LabelPrefix": _prefix(dns1035_label_errors),
    "labelValue": _label_value,
    "uri": _checked(_string_format("uri"), "invalid URI"),
    "uuid": _checked(_string_format("uuid"), "does not match the UUID format"),
    "byte": _checked(_is_base64, "invalid base64"),
    "date": _checked(_string_format("date"), "invalid date"),
    "datetime": _checked(_string_format("datetime"), "invalid datetime"),
}


def named(name: Any) -> cel.OptionalValue:
    return cel.OptionalValue.of(tagged(TAG, name)) if name in _VALIDATORS else cel.OptionalValue.none()


def validate(fmt: Any, value: Any) -> cel.OptionalValue:
    name = untag(TAG, fmt)
    if name not in _VALIDATORS or not isinstance(value, str):
        raise CelError("no such overload: validate")
    errors = _VALIDATORS[name](value)
    return cel.OptionalValue.of(errors) if errors else cel.OptionalValue.none()


def _constructor(name: str) -> Callable[[], dict[str, str]]:
    return lambda: tagged(TAG, name)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "format.named": named, "validate": validate,
    **{f"format.{name}": _constructor(name) for name in _VALIDATORS},
}

"""Kubernetes name checks (DNS labels and subdomains) returning kube-apiserver's error details."""

from __future__ import annotations

import re

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = rf"{_DNS1123_LABEL_FMT}(\.{_DNS1123_LABEL_FMT})*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_SUBDOMAIN_FMT}\Z")
_DNS1035_LABEL = re.compile(rf"^{_DNS1035_LABEL_FMT}\Z")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # Same layout as kube's message, including its doubled space before "or".
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = "".join(("" if i == 0 else " or ") + f"'{ex}', " for i, ex in enumerate(examples))
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Why `value` is not a lowercase RFC 1123 subdomain (empty list when it is one)."""
    errs: list[str] = []
    if len(value) > 253:
        errs.append(_max_len(253))
    if not _DNS1123_SUBDOMAIN.match(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def dns1035_label_errors(value: str) -> list[str]:
    """Why `value` is not a DNS-1035 label (empty list when it is one)."""
    errs: list[str] = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _DNS1035_LABEL.match(value):
        errs.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return errs


def group_version_error(api_version: str) -> str | None:
    """Why an apiVersion string is not `group/version` or `version`, or None when it parses."""
    if api_version.count("/") > 1 or api_version.startswith("/") or api_version.endswith("/"):
        return f"unexpected GroupVersion string: {api_version}"
    return None

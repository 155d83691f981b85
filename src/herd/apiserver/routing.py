"""Turning a request path into what it addresses, the way kube-apiserver reads its URLs."""

from __future__ import annotations

from typing import NamedTuple

_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


class ResourcePath(NamedTuple):
    """`/apis/<group>/<version>[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]`.

    Tuples, not dataclasses: every request parses its path, and a frozen dataclass costs several times more to make.
    """

    group: str
    version: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""


class GroupPath(NamedTuple):
    """A discovery path: `/api`, `/apis`, `/apis/<group>` or a group-version."""

    group: str | None
    version: str | None
    core: bool


def parse_path(path: str) -> ResourcePath | GroupPath | None:
    """Parse an API path; None when it is not under /api or /apis."""
    parts = path[1:].split("/") if path.startswith("/") else path.split("/")
    if "" in parts:  # empty segments (`//`, a trailing `/`) are skipped
        parts = [p for p in parts if p]
    if not parts or parts[0] not in ("api", "apis"):
        return None
    core = parts[0] == "api"
    rest = parts[1:]
    if core:
        group = ""
        if not rest:
            return GroupPath(None, None, core=True)
        version, rest = rest[0], rest[1:]
        if not rest:
            return GroupPath("", version, core=True)
    else:
        if not rest:
            return GroupPath(None, None, core=False)
        group, rest = rest[0], rest[1:]
        if not rest:
            return GroupPath(group, None, core=False)
        version, rest = rest[0], rest[1:]
        if not rest:
            return GroupPath(group, version, core=False)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
        else:  # the namespace object itself, possibly /status or /finalize
            return ResourcePath(group, version, "namespaces", "", rest[1], rest[2] if len(rest) > 2 else "")
    if len(rest) > 3:
        return None
    return ResourcePath(
        group, version, rest[0], namespace,
        rest[1] if len(rest) > 1 else "",
        rest[2] if len(rest) > 2 else "",
    )

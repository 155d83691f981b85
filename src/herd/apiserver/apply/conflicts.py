"""Apply conflicts as kube-apiserver reports them: 409 Conflict, one cause per field and manager."""

from __future__ import annotations

from herd.apiserver.apply.fieldpath import to_string
from herd.apiserver.apply.managed import UPDATE, Conflict, Entry
from herd.apiserver.errors import Cause, StatusError

_CAUSE = "FieldManagerConflict"


def describe_manager(entry: Entry) -> str:
    """A manager as kube names it in conflicts: `"name"`, its subresource, and for updaters the version used."""
    text = f'"{entry.manager}"'
    if entry.subresource:
        text += f' with subresource "{entry.subresource}"'
    if entry.operation == UPDATE:
        text += f" using {entry.api_version}"
    return text


def conflict_error(conflicts: list[Conflict]) -> StatusError:
    """The 409 Status: `Apply failed with 1 conflict: conflict with "m": .spec.replicas`, or the list form."""
    causes = [Cause(_CAUSE, f"conflict with {describe_manager(c.owner)}", to_string(c.path)) for c in conflicts]
    if len(conflicts) == 1:
        only = conflicts[0]
        message = (f"Apply failed with 1 conflict: conflict with {describe_manager(only.owner)}: "
                   f"{to_string(only.path)}")
    else:
        by_manager: dict[str, list[str]] = {}
        for c in conflicts:
            by_manager.setdefault(describe_manager(c.owner), []).append(to_string(c.path))
        lines: list[str] = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}:")
            lines.extend(f"- {path}" for path in by_manager[manager])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return StatusError(409, "Conflict", message, causes=causes)

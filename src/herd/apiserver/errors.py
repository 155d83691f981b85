"""Kubernetes `Status` errors: every failure the API server reports is one of these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One reason an object was refused, usually tied to a field path like `spec.replicas`."""

    reason: str
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class StatusError(Exception):
    """An API error that is answered with a `Status` object and the given HTTP code."""

    code: int
    reason: str
    message: str
    name: str = ""
    group: str = ""
    kind: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after_seconds: int = 0

    def __str__(self) -> str:
        return self.message

    def to_status(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after_seconds:
            details["retryAfterSeconds"] = self.retry_after_seconds
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            status["details"] = details
        return status


def _resource_label(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(group: str, resource: str, name: str) -> StatusError:
    return StatusError(
        404, "NotFound", f'{_resource_label(group, resource)} "{name}" not found',
        name=name, group=group, kind=resource,
    )


def already_exists(group: str, resource: str, name: str) -> StatusError:
    return StatusError(
        409, "AlreadyExists", f'{_resource_label(group, resource)} "{name}" already exists',
        name=name, group=group, kind=resource,
    )


def conflict(group: str, resource: str, name: str, detail: str) -> StatusError:
    return StatusError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {_resource_label(group, resource)} "{name}": {detail}',
        name=name, group=group, kind=resource,
    )


def stale_conflict(group: str, resource: str, name: str) -> StatusError:
    return conflict(
        group, resource, name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )


def invalid(group: str, kind: str, name: str, causes: list[Cause]) -> StatusError:
    # kube-apiserver's aggregate: one message as it is, several (distinct) in brackets
    messages = list(dict.fromkeys(f"{c.field}: {c.message}" if c.field else c.message for c in causes))
    summary = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
    return StatusError(
        422, "Invalid", f'{kind}.{group} "{name}" is invalid: {summary}' if group
        else f'{kind} "{name}" is invalid: {summary}',
        name=name, group=group, kind=kind, causes=causes,
    )


def bad_request(message: str, causes: list[Cause] | None = None) -> StatusError:
    return StatusError(400, "BadRequest", message, causes=causes or [])


def method_not_allowed(message: str) -> StatusError:
    return StatusError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format; "
                       f"accepted media types include: application/json, application/yaml, "
                       f"application/merge-patch+json (got {content_type!r})")


def not_acceptable(message: str) -> StatusError:
    return StatusError(406, "NotAcceptable", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def forbidden(message: str) -> StatusError:
    return StatusError(403, "Forbidden", message)


def internal(message: str) -> StatusError:
    return StatusError(500, "InternalError", message)


def timeout(message: str) -> StatusError:
    return StatusError(504, "Timeout", message)

"""Typed errors for API calls, built from the Kubernetes `Status` the server answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ClientError(Exception):
    """Any failure of a call to the API server."""


class Unreachable(ClientError):
    """The server could not be reached, or the connection broke before an answer."""


class PortForwardError(ClientError):
    """A forwarded connection to a pod's port failed: the server's error channel for the port said why
    (e.g. `error forwarding port 2379 to pod etcd-cp-0, uid …: connection refused`)."""


@dataclass(frozen=True)
class Cause:
    """One reason a request was refused (`Status.details.causes[]`)."""

    reason: str
    message: str
    field: str = ""


@dataclass(eq=False)  # exceptions stay hashable
class ApiError(ClientError):
    """The server answered with an error `Status`."""

    code: int
    reason: str
    message: str
    causes: list[Cause] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def has_cause(self, reason: str) -> bool:
        """Whether any cause carries this reason (e.g. "ResourceVersionTooLarge")."""
        return any(cause.reason == reason for cause in self.causes)


class BadRequest(ApiError):
    """400: the request itself is malformed."""


class Unauthorized(ApiError):
    """401: no valid credentials."""


class Forbidden(ApiError):
    """403: the user may not do this."""


class NotFound(ApiError):
    """404: the object (or its kind) does not exist."""


class Conflict(ApiError):
    """409 Conflict: the object changed since it was read (stale resourceVersion)."""


class AlreadyExists(ApiError):
    """409 AlreadyExists: an object with this name exists."""


class Expired(ApiError):
    """410: the resourceVersion asked for was compacted away; list again."""


class Invalid(ApiError):
    """422: the object failed validation; `causes` say which fields and why."""


class TooManyRequests(ApiError):
    """429: the server asks to retry later."""


class ServerError(ApiError):
    """5xx: the server failed or timed out."""


_BY_REASON: dict[str, type[ApiError]] = {
    "NotFound": NotFound,
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Invalid": Invalid,
    "Expired": Expired,
    "Gone": Expired,
    "Forbidden": Forbidden,
    "Unauthorized": Unauthorized,
    "BadRequest": BadRequest,
    "TooManyRequests": TooManyRequests,
}
_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 410: Expired,
    422: Invalid, 429: TooManyRequests,
}


def error_from_status(code: int, status: Any) -> ApiError:
    """The typed error for an HTTP code and the decoded `Status` body (anything else is tolerated)."""
    body: dict[str, Any] = status if isinstance(status, dict) else {}
    code = int(body.get("code") or code)
    reason = str(body.get("reason") or "")
    message = str(body.get("message") or (status if isinstance(status, str) else "") or f"HTTP {code}")
    details = body.get("details") or {}
    causes = [Cause(str(c.get("reason") or ""), str(c.get("message") or ""), str(c.get("field") or ""))
              for c in details.get("causes") or [] if isinstance(c, dict)]
    cls = _BY_REASON.get(reason) or _BY_CODE.get(code) or (ServerError if code >= 500 else ApiError)
    return cls(code, reason or cls.__name__, message, causes, body)


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, NotFound)


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, Conflict)

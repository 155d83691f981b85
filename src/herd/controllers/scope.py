"""What every controller's Scope shares: its services, and the parts of the object it reconciles."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from herd.runtime import Object

ServicesT = TypeVar("ServicesT")


class ObjectScope(Generic[ServicesT]):
    """`io`, `meta`, `spec` and `status` of the object named by `subject_field` (a dataclass field).

    Status functions get scopes without services; only phases touch `io`.
    """

    subject_field: ClassVar[str]
    services: ServicesT | None

    @property
    def subject(self) -> Object:
        subject: Object = getattr(self, self.subject_field)
        return subject

    @property
    def io(self) -> ServicesT:
        """The services; only phases (never status functions) use them."""
        if self.services is None:
            raise RuntimeError("this scope has no services: phases need a client")
        return self.services

    @property
    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.subject.setdefault("metadata", {})
        return meta

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.subject.setdefault("spec", {})
        return spec

    @property
    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.subject.setdefault("status", {})
        return status

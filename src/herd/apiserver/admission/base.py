"""The admission seam: what the REST layer hands to admission plugins (webhooks) on every write."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..auth import UserInfo
from ..resources import ResourceType


@dataclass
class AdmissionAttributes:
    """Everything a plugin may look at. `obj` is the object about to be stored (None on DELETE)."""

    operation: str  # CREATE, UPDATE, DELETE, CONNECT
    rtype: ResourceType
    namespace: str
    name: str
    obj: dict[str, Any] | None
    old: dict[str, Any] | None
    user: UserInfo | None
    subresource: str = ""
    dry_run: bool = False
    options: dict[str, Any] = field(default_factory=dict)


class Admission(Protocol):
    """Mutating plugins run first and may return a changed object; validating plugins may refuse."""

    async def mutate(self, attrs: AdmissionAttributes) -> dict[str, Any] | None: ...

    async def validate(self, attrs: AdmissionAttributes) -> None: ...


class NoAdmission:
    """Admits everything unchanged."""

    async def mutate(self, attrs: AdmissionAttributes) -> dict[str, Any] | None:
        return attrs.obj

    async def validate(self, attrs: AdmissionAttributes) -> None:
        return None

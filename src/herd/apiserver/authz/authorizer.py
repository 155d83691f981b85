"""The authorizers `--authorization-mode` chooses between: RBAC (the default) and AlwaysAllow.

Members of `system:masters` are allowed everything before RBAC is asked, as kube-apiserver's privileged-group
authorizer does. RBAC decisions come from an index of the stored RBAC objects, rebuilt only after one of them
changes (the store's watch tells), and from each identity's cached decisions; a request costs a few dictionary
lookups once its identity has asked the same thing before.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from ..auth import UserInfo
from ..errors import StatusError
from ..storage.base import CompactedError, StorageError
from ..storage.store import Store
from .index import RBACIndex, UserRules
from .rules import EVERYTHING, Attributes, Rule
from .types import RBAC_PREFIX

MASTERS = "system:masters"
MODES = ("RBAC", "AlwaysAllow")
_MAX_IDENTITIES = 2048


class Decision(NamedTuple):
    allowed: bool
    reason: str = ""


class Authorizer(Protocol):
    def authorize(self, user: UserInfo, attrs: Attributes) -> bool: ...

    def decide(self, user: UserInfo, attrs: Attributes) -> Decision: ...

    def rules(self, user: UserInfo, namespace: str) -> list[Rule]: ...

    async def run(self) -> None: ...


class AlwaysAllow:
    """`--authorization-mode AlwaysAllow`: every authenticated request is allowed."""

    def authorize(self, user: UserInfo, attrs: Attributes) -> bool:
        return True

    def decide(self, user: UserInfo, attrs: Attributes) -> Decision:
        return Decision(True, "the API server runs with --authorization-mode AlwaysAllow")

    def rules(self, user: UserInfo, namespace: str) -> list[Rule]:
        return list(EVERYTHING)

    async def run(self) -> None:
        return None


class RBACAuthorizer:
    """kube-apiserver's RBAC over the objects in one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index: RBACIndex | None = None
        self._identities: dict[tuple[str, tuple[str, ...]], UserRules] = {}

    def invalidate(self) -> None:
        """Forget the index and every identity's decisions (an RBAC object changed)."""
        self._index = None
        self._identities = {}

    def _rules_of(self, user: UserInfo) -> UserRules:
        key = (user.name, user.groups)
        found = self._identities.get(key)
        if found is None:
            if self._index is None:
                self._index = RBACIndex(self.store)
            if len(self._identities) >= _MAX_IDENTITIES:
                self._identities = {}
            found = self._identities[key] = self._index.rules_of(user)
        return found

    def authorize(self, user: UserInfo, attrs: Attributes) -> bool:
        return MASTERS in user.groups or self._rules_of(user).allows(attrs)

    def decide(self, user: UserInfo, attrs: Attributes) -> Decision:
        if MASTERS in user.groups:
            return Decision(True, f'allowed: member of the "{MASTERS}" group')
        reason = self._rules_of(user).reason(attrs)
        return Decision(reason is not None, reason or "")

    def rules(self, user: UserInfo, namespace: str) -> list[Rule]:
        return self._rules_of(user).rules_in(namespace)

    async def run(self) -> None:
        """Follow RBAC changes until cancelled: each one drops the index, which the next request rebuilds."""
        while True:
            try:
                _, revision = self.store.list(RBAC_PREFIX)
                self.invalidate()
                watch = self.store.watch(RBAC_PREFIX, revision)
            except CompactedError:
                continue
            except StorageError:
                return  # the store is closing
            try:
                async for _ in watch:
                    self.invalidate()
            finally:
                watch.close()


def new_authorizer(mode: str, store: Store) -> Authorizer:
    if mode == "RBAC":
        return RBACAuthorizer(store)
    if mode == "AlwaysAllow":
        return AlwaysAllow()
    raise ValueError(f"unknown authorization mode {mode!r} (known: {', '.join(MODES)})")


def forbidden_message(user: UserInfo, attrs: Attributes) -> str:
    """kube-apiserver's sentence for a refused request."""
    if not attrs.resource_request:
        return f'User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" {where}'


def forbidden(user: UserInfo, attrs: Attributes, reason: str = "") -> StatusError:
    """The 403 Forbidden Status kube-apiserver answers a refused request with."""
    message = forbidden_message(user, attrs) + (f": {reason}" if reason else "")
    if not attrs.resource_request:
        return StatusError(403, "Forbidden", f"forbidden: {message}")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    return StatusError(403, "Forbidden", f"{subject} is forbidden: {message}", name=attrs.name,
                       group=attrs.api_group, kind=attrs.resource)

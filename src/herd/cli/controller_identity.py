"""The least-privilege identity `herd init` runs the controllers under on a real cluster.

With the installer's credentials (usually cluster-admin, in system:masters, which no authorizer ever refuses) the
controllers could do anything, and a rule missing from their role would go unnoticed until someone ran them the
way `deploy/` does. So `herd init` creates the ServiceAccount herd-system/herd-controller-manager, binds it to
the controllers' ClusterRole (manager_rbac.py), asks the TokenRequest API for a token of it and runs the manager
with that token, kept in a file and renewed before it expires (the client reads the file again after a 401, as
client-go's token-file credentials do). An API server without the TokenRequest API (herd's own plane) keeps the
given credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lightkube.config.kubeconfig import SingleConfig
from lightkube.config.models import User

from herd.apiserver.pki import write_file_atomic
from herd.runtime import AlreadyExists, ApiError, Client, NotFound
from herd.runtime.objects import NAMESPACE, Kind

from .manager_rbac import MANAGER_NAMESPACE, MANAGER_SERVICE_ACCOUNT, install_manager_rbac

log = logging.getLogger("herd.cli")

TOKEN_SECONDS = 3600  # the lifetime kube-apiserver gives projected tokens by default
RENEW_AT = 0.8  # of the lifetime, as the kubelet renews projected tokens

SERVICE_ACCOUNT = Kind("v1", "ServiceAccount", "serviceaccounts", status_subresource=False)
SELF_SUBJECT_REVIEW = Kind("authentication.k8s.io/v1", "SelfSubjectReview", "selfsubjectreviews", namespaced=False,
                           status_subresource=False)


@dataclass
class Identity:
    """Who the controllers are on the API server, as it reports them (SelfSubjectReview)."""

    username: str
    groups: list[str]

    def describe(self) -> str:
        return f"{self.username} (groups: {', '.join(self.groups) or 'none'})"


async def install_identity(admin: Client) -> None:
    """The Namespace and ServiceAccount (created once), the ClusterRole herd-manager-role and its binding (brought
    up to date: a newer herd may need more)."""
    labels = {"app.kubernetes.io/name": "herd", "app.kubernetes.io/component": "controller-manager"}
    for kind, obj in ((NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MANAGER_NAMESPACE}}),
                      (SERVICE_ACCOUNT, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                          "name": MANAGER_SERVICE_ACCOUNT, "namespace": MANAGER_NAMESPACE, "labels": labels}})):
        with contextlib.suppress(AlreadyExists):
            await admin.create(obj, kind=kind)
    await install_manager_rbac(admin)


async def request_token(admin: Client, seconds: int = TOKEN_SECONDS) -> tuple[str, float]:
    """A token of the ServiceAccount from the TokenRequest API, and the seconds it is valid for."""
    answer = await admin.create_subresource(
        SERVICE_ACCOUNT, MANAGER_SERVICE_ACCOUNT, MANAGER_NAMESPACE, "token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
         "spec": {"expirationSeconds": seconds}})
    status = answer.get("status") or {}
    expires = datetime.fromisoformat(str(status["expirationTimestamp"]).replace("Z", "+00:00"))
    return str(status["token"]), max(60.0, (expires - datetime.now(UTC)).total_seconds())


async def who_am_i(client: Client) -> Identity:
    """What the API server says of the client's user; "unknown" where it serves no SelfSubjectReview."""
    try:
        review = await client.create({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                     kind=SELF_SUBJECT_REVIEW)
    except ApiError as exc:
        return Identity(f"unknown (SelfSubjectReview: {exc})", [])
    user = (review.get("status") or {}).get("userInfo") or {}
    return Identity(str(user.get("username", "")), list(user.get("groups") or []))


class ControllerCredentials:
    """The ServiceAccount's token in a file (0600) the controllers' client reads, renewed before it expires."""

    def __init__(self, admin: Client, admin_config: SingleConfig, token_file: Path) -> None:
        self.admin, self.admin_config, self.token_file = admin, admin_config, token_file
        self._renewal: asyncio.Task[None] | None = None

    async def start(self) -> Client | None:
        """Install the identity and get its first token: a client of the controllers, or None when this API server
        has no TokenRequest API (the controllers then keep the installer's credentials)."""
        await install_identity(self.admin)
        try:
            lifetime = await self._renew()
        except NotFound:
            log.warning("%s serves no TokenRequest API: the controllers use the --kubeconfig credentials",
                        self.admin.server)
            return None
        self._renewal = asyncio.ensure_future(self._keep_renewing(lifetime))
        user = User(token_file=str(self.token_file))
        return Client.from_config(self.admin_config._replace(user=user))

    async def _renew(self) -> float:
        token, lifetime = await request_token(self.admin)
        write_file_atomic(self.token_file, token.encode(), mode=0o600)
        return lifetime

    async def _keep_renewing(self, lifetime: float) -> None:
        while True:
            await asyncio.sleep(lifetime * RENEW_AT)
            try:
                lifetime = await self._renew()
            except Exception as exc:  # the current token still has a fifth of its life: try again soon
                log.warning("renewing the controllers' token failed: %s", exc)
                lifetime = 60.0 / RENEW_AT

    async def stop(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal

"""Bootstrap token authentication, as kube-apiserver's `--enable-bootstrap-token-auth`.

A bearer token `<id>.<secret>` (https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/)
authenticates as `system:bootstrap:<id>` while the Secret `kube-system/bootstrap-token-<id>`, of type
`bootstrap.kubernetes.io/token`, holds the same id and secret, allows `usage-bootstrap-authentication`
and has not reached its `expiration`. The user's groups are `system:bootstrappers` plus the Secret's
`auth-extra-groups` (the Authenticator adds `system:authenticated`).

The Secret is read from the watch cache on every call, so deleting or expiring it takes effect for the
next request that is authenticated. The token's secret half never reaches a log line; the id, which is
public (it names the Secret), may.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
from datetime import UTC, datetime
from typing import Any

from .auth import TokenLookup, UserInfo
from .builtins import SECRETS
from .storage.store import Store

log = logging.getLogger(__name__)

SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_NAMESPACE = "kube-system"
SECRET_NAME_PREFIX = "bootstrap-token-"
USER_PREFIX = "system:bootstrap:"
BOOTSTRAPPERS_GROUP = "system:bootstrappers"

_TOKEN = re.compile(r"([a-z0-9]{6})\.([a-z0-9]{16})")
_EXTRA_GROUP = re.compile(r"system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]")


def is_bootstrap_user(user: UserInfo) -> bool:
    """Whether `user` was authenticated by a bootstrap token (whose validity can end at any request)."""
    return user.name.startswith(USER_PREFIX)


def bootstrap_token_lookup(store: Store) -> TokenLookup:
    """A token lookup for `Authenticator` that accepts the bootstrap tokens stored as Secrets in `store`."""

    async def bootstrap_tokens(token: str) -> UserInfo | None:
        return authenticate(store, token, datetime.now(UTC))

    return bootstrap_tokens


def authenticate(store: Store, token: str, now: datetime) -> UserInfo | None:
    """The user a bootstrap token stands for at time `now`, or None if it is not a valid one."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None  # not shaped like a bootstrap token: some other authenticator's business
    token_id, token_secret = match.groups()
    name = SECRET_NAME_PREFIX + token_id
    rec = store.get(SECRETS.key(SECRET_NAMESPACE, name))
    if rec is None:
        log.debug("no Secret %s/%s to match bootstrap token %s", SECRET_NAMESPACE, name, token_id)
        return None
    secret = rec.value
    data = secret.get("data")
    if secret.get("metadata", {}).get("deletionTimestamp") or secret.get("type") != SECRET_TYPE \
            or not isinstance(data, dict):
        log.debug("Secret %s/%s is not a usable bootstrap token", SECRET_NAMESPACE, name)
        return None
    stored_secret = _field(data, "token-secret") or ""
    # compare_digest takes time independent of where the strings differ, so timing leaks nothing
    if not hmac.compare_digest(stored_secret.encode(), token_secret.encode()):
        log.debug("bootstrap token %s: the secret does not match", token_id)
        return None
    if _field(data, "token-id") != token_id:
        log.debug("bootstrap token %s: the Secret holds another token id", token_id)
        return None
    if _expired(_field(data, "expiration"), now):
        log.debug("bootstrap token %s has expired", token_id)
        return None
    if _field(data, "usage-bootstrap-authentication") != "true":
        log.debug("bootstrap token %s may not be used for authentication", token_id)
        return None
    groups = _groups(_field(data, "auth-extra-groups"))
    if groups is None:
        log.debug("bootstrap token %s has invalid auth-extra-groups", token_id)
        return None
    return UserInfo(USER_PREFIX + token_id, "", groups)


def _field(data: dict[str, Any], key: str) -> str | None:
    """One Secret data value as text; None when absent or not valid base64 UTF-8."""
    value = data.get(key)
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _expired(expiration: str | None, now: datetime) -> bool:
    """Whether an RFC 3339 `expiration` has passed; a value that cannot be read counts as expired, as in kube."""
    if not expiration:
        return False
    try:
        moment = datetime.fromisoformat(expiration)
    except ValueError:
        return True
    if moment.tzinfo is None or "T" not in expiration.upper():  # RFC 3339 needs both date-time and an offset
        return True
    return now > moment


def _groups(extra: str | None) -> tuple[str, ...] | None:
    """`system:bootstrappers` and the valid extra groups (sorted, as kube lists them); None if one is invalid."""
    groups = {BOOTSTRAPPERS_GROUP}
    if extra and extra.strip():
        for part in extra.split(","):
            group = part.strip()
            if not _EXTRA_GROUP.fullmatch(group):
                return None
            groups.add(group)
    return tuple(sorted(groups))

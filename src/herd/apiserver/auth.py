"""Request authentication for the embedded API server: client certificates and bearer tokens.

Mirrors kube-apiserver's union authenticator: a verified client certificate wins (CN is the user, each O a
group), otherwise a bearer token is tried against the static token file and then any pluggable lookups.
Every authenticated user also gets the group `system:authenticated`. Token values never reach a log line,
an exception message or a repr.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

SYSTEM_AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated identity, as Kubernetes' user.Info: name, optional uid, groups, extra fields."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (key, values), keys sorted: hashable, as the cache needs

    def with_groups(self, *more: str) -> UserInfo:
        """A copy with `more` groups appended (duplicates dropped, order kept)."""
        return UserInfo(self.name, self.uid, tuple(dict.fromkeys((*self.groups, *more))), self.extra)


TokenLookup = Callable[[str], Awaitable[UserInfo | None]]
"""A pluggable token authenticator (e.g. bootstrap tokens): the user for a token, or None if unknown."""


class TokenFile:
    """Static tokens in kube-apiserver's `--token-auth-file` format: `token,user,uid[,"group1,group2"]`.

    Only keyed digests of the tokens are kept, so neither a repr nor a memory dump shows a token, and every
    lookup compares against every entry with `hmac.compare_digest` so timing reveals nothing about them.
    """

    def __init__(self, tokens: Mapping[str, UserInfo] | Iterable[tuple[str, UserInfo]] = ()) -> None:
        # A per-instance random key: digests are useless for offline guessing of low-entropy tokens.
        self._key = secrets.token_bytes(32)
        items = tokens.items() if isinstance(tokens, Mapping) else tokens
        self._entries: list[tuple[bytes, UserInfo]] = [(self._digest(t), u) for t, u in items]

    def _digest(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).digest()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TokenFile({len(self._entries)} tokens)"

    @classmethod
    def load(cls, path: Path) -> TokenFile:
        """Parse a token file. Blank lines and `#` comments are skipped; each record is one line.

        Raises ValueError naming the file and line for malformed records, empty tokens or user names, and
        duplicate tokens (the token text itself is never included).
        """
        entries: list[tuple[str, UserInfo]] = []
        seen: dict[str, int] = {}
        for lineno, raw in enumerate(path.read_bytes().splitlines(), start=1):
            try:
                entry = _parse_token_line(raw, first=lineno == 1)
                if entry is not None and entry[0] in seen:
                    raise ValueError(f"duplicate token (first on line {seen[entry[0]]})")
            except ValueError as exc:
                # The reasons raised above are fixed strings that never contain the line's content.
                raise ValueError(f"{path}: line {lineno}: {exc}") from None
            if entry is not None:
                seen[entry[0]] = lineno
                entries.append(entry)
        return cls(entries)

    def lookup(self, token: str) -> UserInfo | None:
        """The user owning `token`, or None. Runs in time independent of which entry (if any) matches."""
        digest = self._digest(token)
        found: UserInfo | None = None
        for candidate, user in self._entries:
            # No early exit: scanning every entry keeps the position of a match unobservable.
            if hmac.compare_digest(candidate, digest):
                found = user
        return found


def _parse_token_line(raw: bytes, *, first: bool) -> tuple[str, UserInfo] | None:
    """One token-file record as (token, user), None for blank and comment lines; ValueError if malformed."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not valid UTF-8") from None  # the codec's message would quote the bytes
    if first:
        line = line.removeprefix("\ufeff")  # editors on Windows add a BOM
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    try:
        fields = [f.strip() for f in next(csv.reader([line], skipinitialspace=True, strict=True))]
    except csv.Error:
        raise ValueError("malformed CSV") from None  # csv errors may echo the offending text
    if not 3 <= len(fields) <= 4:
        raise ValueError(f"expected 3 or 4 columns (token,user,uid[,groups]), found {len(fields)}")
    token, name, uid = fields[:3]
    if not token:
        raise ValueError("empty token")
    if not name:
        raise ValueError("empty user name")
    # The groups column is itself comma-separated (hence quoted in the CSV).
    groups = tuple(g.strip() for g in fields[3].split(",") if g.strip()) if len(fields) == 4 else ()
    return token, UserInfo(name, uid, groups)


def parse_bearer_token(authorization: str | None) -> str | None:
    """The token from an `Authorization: Bearer <token>` header value, or None if absent or malformed."""
    if authorization is None:
        return None
    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    token = parts[1]
    return token if token.isprintable() else None


def user_from_peercert(peercert: Mapping[str, Any]) -> UserInfo | None:
    """The identity in a verified client certificate (`ssl.SSLSocket.getpeercert()` form), or None.

    CN is the user name and each O a group. A certificate without exactly one non-empty CN identifies
    nobody (kube-apiserver likewise refuses an empty CN), so the request falls through to token auth.
    """
    common_names: list[str] = []
    organizations: list[str] = []
    # getpeercert() gives the subject as a tuple of RDNs, each a tuple of (attribute, value) pairs.
    for rdn in peercert.get("subject", ()):
        for attribute in rdn:
            if not (isinstance(attribute, tuple) and len(attribute) == 2):
                continue
            key, value = attribute
            if key == "commonName":
                common_names.append(str(value))
            elif key == "organizationName":
                organizations.append(str(value))
    if len(common_names) != 1 or not common_names[0]:
        return None
    return UserInfo(common_names[0], "", tuple(dict.fromkeys(organizations)))


def _lookup_name(lookup: TokenLookup) -> str:
    return getattr(lookup, "__qualname__", None) or type(lookup).__qualname__


class CertificateUsers(Protocol):
    """Verifies a client certificate (DER) and names its user; None when it does not verify."""

    def user(self, der: bytes) -> UserInfo | None: ...


class Authenticator:
    """Authenticates requests from their peer certificate and Authorization header.

    With `client_certificates`, certificates are verified here (`authenticate_der`), as kube-apiserver's
    x509 authenticator does; without, the TLS layer must have verified them (`authenticate`).
    """

    def __init__(
        self, token_file: TokenFile | None = None, extra_token_lookups: list[TokenLookup] | None = None,
        *, client_certificates: CertificateUsers | None = None,
    ) -> None:
        self._token_file = token_file
        self._lookups: list[TokenLookup] = list(extra_token_lookups or [])
        self.client_certificates = client_certificates

    def __repr__(self) -> str:
        return f"Authenticator(token_file={self._token_file!r}, extra_token_lookups={len(self._lookups)})"

    def add_token_lookup(self, lookup: TokenLookup) -> None:
        """Register another token authenticator, consulted after the token file and earlier lookups."""
        self._lookups.append(lookup)

    async def authenticate(
        self, peercert: Mapping[str, Any] | None, authorization: str | None
    ) -> UserInfo | None:
        """The requesting user, or None (the server answers 401).

        `peercert` must come from a TLS layer that verified the certificate against the trusted CAs (as
        `server_ssl_context` does); an empty or missing one means no client certificate was presented.
        """
        if peercert:
            user = user_from_peercert(peercert)
            if user is not None:
                return user.with_groups(SYSTEM_AUTHENTICATED)
        return await self.authenticate_token(authorization)

    async def authenticate_der(self, certificate: bytes | None, authorization: str | None) -> UserInfo | None:
        """The requesting user from a certificate nobody verified yet (DER) or the bearer token, or None.

        An unverified certificate authenticates nobody but does not stop a valid token, as in kube-apiserver.
        """
        if certificate and self.client_certificates is not None:
            user = self.client_certificates.user(certificate)
            if user is not None:
                return user.with_groups(SYSTEM_AUTHENTICATED)
        return await self.authenticate_token(authorization)

    async def authenticate_token(self, authorization: str | None) -> UserInfo | None:
        """The user of the bearer token in an Authorization header value, or None."""
        token = parse_bearer_token(authorization)
        if token is None:
            return None
        if self._token_file is not None:
            user = self._token_file.lookup(token)
            if user is not None:
                return user.with_groups(SYSTEM_AUTHENTICATED)
        for lookup in self._lookups:
            try:
                user = await lookup(token)
            except Exception as exc:
                # As in kube-apiserver, a failing authenticator just doesn't vouch for the request. Only the
                # exception type is logged: a buggy lookup might have put the token in its message.
                log.warning("token authenticator %s failed: %s", _lookup_name(lookup), type(exc).__name__)
                continue
            if user is not None:
                return user.with_groups(SYSTEM_AUTHENTICATED)
        return None

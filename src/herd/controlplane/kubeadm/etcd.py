"""A client for one member of a workload cluster's stacked etcd, over etcd's v3 API.

It speaks the JSON gateway that etcd (3.4 and later) serves on its client port next to gRPC:
`POST /v3/cluster/member/list`, `/v3/cluster/member/remove`, `/v3/maintenance/status`,
`/v3/maintenance/transfer-leadership` (MoveLeader) and `/v3/maintenance/alarm`. 64-bit integers travel as
decimal strings, fields left at their zero value are absent, and failures come back as
`{"error", "message", "code"}` with the gRPC code mapped to an HTTP status (NotFound 404,
FailedPrecondition 412, Unavailable 503, DeadlineExceeded 504, Unknown 500).

Each request carries a `Grpc-Timeout` header a little shorter than the client's own timeout, so an operation
etcd cannot finish (no leader, a leadership transfer to a member that is down) ends with etcd's
"context deadline exceeded" instead of a request that hangs.

Mutual TLS: `etcd_client_tls` signs a client certificate with the cluster's etcd CA (`<cluster>-etcd`) and trusts
only that CA for the member's serving certificate. No message raised here contains key material.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
import orjson

from herd.contract.certificates import (
    CertificatesError,
    KeyPair,
    key_algorithm,
    load_cert,
    load_key_pair,
    load_private_key,
    new_client_cert,
)

CLIENT_COMMON_NAME = "herd-kcp-etcd-client"

MEMBER_LIST = "/v3/cluster/member/list"
MEMBER_REMOVE = "/v3/cluster/member/remove"
STATUS = "/v3/maintenance/status"
MOVE_LEADER = "/v3/maintenance/transfer-leadership"
ALARM = "/v3/maintenance/alarm"

NOT_LEADER = "etcdserver: not leader"
_DEADLINE_SHARE = 0.8  # of the client's timeout, given to etcd as the request's deadline


class EtcdError(Exception):
    """An etcd call failed: etcd's answer (gRPC code, HTTP status) or, when both are None, no answer at all."""

    def __init__(self, message: str, *, grpc_code: int | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.grpc_code = grpc_code
        self.http_status = http_status

    @property
    def unreachable(self) -> bool:
        """The member did not answer (down, refused the TLS handshake, timed out)."""
        return self.http_status is None


@dataclass(frozen=True)
class EtcdMember:
    id: int
    name: str  # empty until the member has started once
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    is_learner: bool


@dataclass(frozen=True)
class EtcdStatus:
    """One member's own view: who it is, whom it follows, and what it reports wrong (alarms, no leader)."""

    member_id: int
    leader_id: int | None  # None: the member knows no leader
    version: str
    raft_term: int
    raft_index: int
    db_size: int
    is_learner: bool
    errors: tuple[str, ...]

    @property
    def is_leader(self) -> bool:
        return self.leader_id == self.member_id


@dataclass(frozen=True)
class EtcdAlarm:
    member_id: int
    alarm: str  # NOSPACE, CORRUPT


def hex_id(member_id: int) -> str:
    """A member ID as etcd prints it in logs and etcdctl tables."""
    return f"{member_id:x}"


class EtcdClient:
    """Calls to one etcd member at `base_url` (e.g. the local end of a tunnel to the member's client port).

    `server_hostname` names the member for TLS verification when `base_url`'s host is not in its certificate.
    """

    def __init__(self, base_url: str, ssl_context: ssl.SSLContext, *, timeout: float = 5.0,
                 server_hostname: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._ssl = ssl_context
        self._server_hostname = server_hostname
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def member_list(self) -> list[EtcdMember]:
        """The cluster's members, as this member knows them (served locally, no quorum needed)."""
        return _members(await self._call(MEMBER_LIST, {}))

    async def status(self) -> EtcdStatus:
        body = await self._call(STATUS, {})
        header = _object(body.get("header"))
        return EtcdStatus(
            member_id=_uint64(header.get("member_id")), leader_id=_uint64(body.get("leader")) or None,
            version=str(body.get("version", "")), raft_term=_uint64(body.get("raftTerm")),
            raft_index=_uint64(body.get("raftIndex")), db_size=_uint64(body.get("dbSize")),
            is_learner=body.get("isLearner") is True,
            errors=tuple(str(error) for error in _list(body.get("errors"))))

    async def alarm_list(self) -> list[EtcdAlarm]:
        """Every active alarm of the cluster (needs a leader)."""
        body = await self._call(ALARM, {"action": "GET"})
        alarms = [_object(alarm) for alarm in _list(body.get("alarms"))]
        return [EtcdAlarm(_uint64(alarm.get("memberID")), str(alarm.get("alarm", "NONE"))) for alarm in alarms]

    async def move_leader(self, target_id: int) -> None:
        """Hand leadership to `target_id`; only the current leader accepts this. Returns once the target leads."""
        try:
            await self._call(MOVE_LEADER, {"targetID": str(target_id)})
        except EtcdError as error:
            if error.message != NOT_LEADER:
                raise
            raise EtcdError(f"cannot move etcd leadership to {hex_id(target_id)}: the member at {self.base_url} "
                            "is not the leader; send MoveLeader to the leader's endpoint",
                            grpc_code=error.grpc_code, http_status=error.http_status) from None

    async def member_remove(self, member_id: int) -> list[EtcdMember]:
        """Remove a member from the cluster; the members that remain."""
        return _members(await self._call(MEMBER_REMOVE, {"ID": str(member_id)}))

    async def _call(self, path: str, request: dict[str, Any]) -> dict[str, Any]:
        deadline_ms = max(1, int(self.timeout * _DEADLINE_SHARE * 1000))
        try:
            async with self._client().post(
                    self.base_url + path, json=request, ssl=self._ssl, server_hostname=self._server_hostname,
                    headers={"Grpc-Timeout": f"{deadline_ms}m"}) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, ssl.SSLError, OSError, TimeoutError) as error:
            detail = str(error) or type(error).__name__
            raise EtcdError(f"etcd member {self.base_url} did not answer {path}: {detail}") from None
        answer = _json(body)
        if status == 200 and isinstance(answer, dict):
            return answer
        if isinstance(answer, dict) and isinstance(answer.get("message") or answer.get("error"), str):
            code = answer.get("code")
            raise EtcdError(str(answer.get("message") or answer.get("error")),
                            grpc_code=code if isinstance(code, int) else None, http_status=status)
        raise EtcdError(f"etcd member {self.base_url} answered {path} with HTTP {status}", http_status=status)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session


def etcd_client_tls(ca_cert_pem: bytes, ca_key_pem: bytes) -> ssl.SSLContext:
    """A TLS context that presents a new client certificate signed by the etcd CA and trusts only that CA.

    The key has the CA key's type and size (kubeadm's encryptionAlgorithm). The certificate lives in memory (and,
    for as long as loading takes, in a private temporary file).
    """
    try:
        ca_key = load_private_key(ca_key_pem)
        if load_cert(ca_cert_pem).public_key() != ca_key.public_key():
            raise EtcdError("the etcd CA's key does not belong to its certificate")
        algorithm = key_algorithm(ca_key)
        client = new_client_cert(KeyPair(ca_cert_pem, ca_key_pem), CLIENT_COMMON_NAME, algorithm=algorithm)
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_cert_pem.decode("ascii"))
    except (CertificatesError, ValueError, TypeError, ssl.SSLError) as error:
        raise EtcdError(f"the etcd CA cannot be used for a client certificate ({type(error).__name__})") from None
    try:
        load_key_pair(context, client)
    except ssl.SSLError as error:
        raise EtcdError(f"the etcd key pair cannot be loaded ({error.reason or 'invalid'})") from None
    return context


# ----- reading etcd's JSON -----

def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _members(body: dict[str, Any]) -> list[EtcdMember]:
    members = [_object(member) for member in _list(body.get("members"))]
    return [EtcdMember(id=_uint64(member.get("ID")), name=str(member.get("name", "")),
                       peer_urls=tuple(str(url) for url in _list(member.get("peerURLs"))),
                       client_urls=tuple(str(url) for url in _list(member.get("clientURLs"))),
                       is_learner=member.get("isLearner") is True) for member in members]


def _uint64(value: Any) -> int:
    """etcd's uint64 (a decimal string in JSON; absent when zero)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise EtcdError(f"etcd answered {value!r} where a 64-bit number belongs")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise EtcdError(f"etcd answered {value!r} where a 64-bit number belongs") from None
    if not 0 <= number < 1 << 64:
        raise EtcdError(f"etcd answered {value!r} where a 64-bit number belongs")
    return number


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


__all__ = [
    "CLIENT_COMMON_NAME", "EtcdAlarm", "EtcdClient", "EtcdError", "EtcdMember", "EtcdStatus", "etcd_client_tls",
    "hex_id",
]

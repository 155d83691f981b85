"""A simulated stacked etcd for one workload cluster: the members' state, and one HTTPS server per member that
answers the part of etcd's v3 JSON gateway Cluster API uses, as etcd does.

State (`SimulatedEtcd`): members with 64-bit IDs derived from their names; one leader among the running voting
members while a quorum of them runs, elected again when the leader stops or leaves; alarms set by tests.
Member removal follows etcd's strict reconfiguration check: it is refused when fewer than a quorum of the
remaining voting members have started ("not enough started members", so the last member can never be removed)
or, for a running member, when fewer than a quorum would remain among the members the receiving member has been
connected to for `health_interval` (5 s, as etcd) ("unhealthy cluster"; so also right after members start).

Server (`serve_member`): 127.0.0.1, a serving certificate signed by the cluster's etcd CA with kubeadm's SANs
(localhost, 127.0.0.1, ::1, the member name), client certificates from that CA required. The answers have etcd's
shapes (uint64 as decimal strings, zero values left out) and its errors (`{"error", "message", "code"}`, gRPC
code mapped to the HTTP status as etcd's gateway does). A stopped or removed member drops its connections
without answering. What etcd would wait for (a leader, a transfer to a member that is down) is retried until the
request's `Grpc-Timeout` ends, then answered "context deadline exceeded" (504), as etcd does. Where etcd 3.4 and
3.5 differ, the answers are 3.5's (the alarm list carries a response header).

`SimulatedEtcdCluster` keeps both for one workload cluster: `join(name)` adds (or restarts) a member and serves it.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import json
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from herd.contract.certificates import (
    CLOCK_SKEW,
    KeyPair,
    encode_cert,
    encode_private_key,
    key_algorithm,
    load_cert,
    load_key_pair,
    load_private_key,
    new_private_key,
)

DEFAULT_VERSION = "3.5.16"  # the etcd of kubeadm's recent Kubernetes releases
SERVING_CERT_VALIDITY = datetime.timedelta(days=365)
MAX_WAIT = 30.0  # seconds an operation etcd would wait for waits when the request names no deadline

# gRPC codes and the HTTP status etcd's gateway answers for each
UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE = 2, 3, 4, 5, 9, 14
HTTP_STATUS = {UNKNOWN: 500, INVALID_ARGUMENT: 400, DEADLINE_EXCEEDED: 504, NOT_FOUND: 404,
               FAILED_PRECONDITION: 412, UNAVAILABLE: 503}

ALARMS = ("NOSPACE", "CORRUPT")


class EtcdApiError(Exception):
    """An error etcd answers: gRPC code and message, e.g. (5, "etcdserver: member not found")."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MustWait(Exception):
    """etcd would keep the request waiting (for a leader, for a transfer to finish) until its deadline."""


MEMBER_NOT_FOUND = (NOT_FOUND, "etcdserver: member not found")
NOT_LEADER = (FAILED_PRECONDITION, "etcdserver: not leader")
BAD_LEADER_TRANSFEREE = (FAILED_PRECONDITION, "etcdserver: bad leader transferee")
UNHEALTHY = (UNAVAILABLE, "etcdserver: unhealthy cluster")
# etcd wraps this one so that gRPC loses its code: clients see Unknown (HTTP 500)
NOT_ENOUGH_STARTED = (UNKNOWN, "etcdserver: re-configuration failed due to not enough started members")
NO_LEADER = "etcdserver: no leader"
DEADLINE = (DEADLINE_EXCEEDED, "context deadline exceeded")


def member_id(name: str) -> int:
    """A member's ID: 64 bits of its name's SHA-256, never 0 (etcd's "none")."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") or 1


@dataclass
class SimulatedMember:
    id: int
    name: str
    is_learner: bool
    running_since: float | None  # None: stopped
    started: bool  # has run at least once (etcd counts only started members towards a safe removal)

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def peer_urls(self) -> list[str]:
        return [f"https://{self.name}:2380"]

    @property
    def client_urls(self) -> list[str]:
        return [f"https://{self.name}:2379"]


class SimulatedEtcd:
    """The members of one cluster's etcd and what they agree on."""

    def __init__(self, cluster_name: str = "etcd", *, version: str = DEFAULT_VERSION, health_interval: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cluster_id = member_id("cluster/" + cluster_name)
        self.version = version
        self.health_interval = health_interval
        self.clock = clock
        self.leader_id: int | None = None
        self.raft_term = 1
        self.raft_index = 1
        self._members: dict[int, SimulatedMember] = {}
        self._alarms: dict[tuple[int, str], None] = {}  # ordered set of (member id, alarm)

    # ----- what tests and the Dev provider do -----

    @property
    def members(self) -> list[SimulatedMember]:
        """Sorted by ID, as etcd lists them."""
        return [self._members[key] for key in sorted(self._members)]

    def member(self, name: str) -> SimulatedMember | None:
        return self._members.get(member_id(name))

    def member_by_id(self, wanted: int) -> SimulatedMember | None:
        return self._members.get(wanted)

    def add_member(self, name: str, *, learner: bool = False, running: bool = True) -> int:
        """A new member (a machine that joined); its ID."""
        new_id = member_id(name)
        if new_id in self._members:
            raise ValueError(f"etcd member {name} already exists")
        self._members[new_id] = SimulatedMember(new_id, name, learner, self.clock() if running else None, running)
        self._changed()
        return new_id

    def set_running(self, name: str, running: bool) -> None:
        """Start or stop a member's etcd (its machine booted, failed, or its etcd pod went away).

        Stopping a member that is no longer in the cluster (removed before its machine went) does nothing; starting
        one is an error, as etcd refuses to start a removed member."""
        found = self.member(name)
        if found is None:
            if running:
                raise KeyError(f"no etcd member {name}")
            return
        if running != found.running:
            found.running_since = self.clock() if running else None
        found.started = found.started or running
        self._changed()

    def raise_alarm(self, target_id: int, alarm: str) -> None:
        if alarm not in ALARMS:
            raise ValueError(f"unknown etcd alarm {alarm!r} (one of {', '.join(ALARMS)})")
        self._alarms[(target_id, alarm)] = None

    def clear_alarm(self, target_id: int, alarm: str) -> None:
        self._alarms.pop((target_id, alarm), None)

    @property
    def alarms(self) -> list[tuple[int, str]]:
        return list(self._alarms)

    # ----- what the API does (`via`: the member that received the request; None: the leader) -----

    def remove_member(self, target_id: int, *, via: int | None = None) -> list[SimulatedMember]:
        """MemberRemove; the members that remain."""
        target = self._members.get(target_id)
        if target is None or not target.is_learner:
            self._check_voting_removal(target_id, via)
        self._require_leader()
        if target is None:
            raise EtcdApiError(*MEMBER_NOT_FOUND)
        del self._members[target_id]
        for key in [key for key in self._alarms if key[0] == target_id]:
            del self._alarms[key]
        self._changed()
        return self.members

    def move_leader(self, target_id: int, *, via: int | None = None) -> None:
        """MoveLeader, sent to `via` (which must lead)."""
        if self.leader_id is None or (via is not None and via != self.leader_id):
            raise EtcdApiError(*NOT_LEADER)
        target = self._members.get(target_id)
        if target is None or target.is_learner:
            raise EtcdApiError(*BAD_LEADER_TRANSFEREE)
        if target_id == self.leader_id:
            return
        if not target.running:
            raise MustWait  # etcd waits for a transferee that never answers
        self._elect(target_id)

    def status_errors(self) -> list[str]:
        errors = [NO_LEADER] if self.leader_id is None else []
        return errors + [f"memberID:{owner} alarm:{alarm} " for owner, alarm in self._alarms]

    def alarm_list(self) -> list[tuple[int, str]]:
        self._require_leader()  # alarms are read through raft
        return self.alarms

    # ----- rules -----

    def _voting(self) -> list[SimulatedMember]:
        return [member for member in self._members.values() if not member.is_learner]

    def _check_voting_removal(self, target_id: int, via: int | None) -> None:
        others = [member for member in self._voting() if member.id != target_id]
        if sum(member.started for member in others) < len(others) // 2 + 1:
            raise EtcdApiError(*NOT_ENOUGH_STARTED)
        target = self._members.get(target_id)
        via = self.leader_id if via is None else via
        if target_id != via and (target is None or not target.running):
            return  # a member that is down is not part of the active quorum
        voting = self._voting()
        settled = self.clock() - self.health_interval
        active = sum(member.id == via or (member.running_since is not None and member.running_since <= settled)
                     for member in voting)  # etcd counts peers connected for at least its health interval
        if active - 1 < 1 + (len(voting) - 1) // 2:
            raise EtcdApiError(*UNHEALTHY)

    def _require_leader(self) -> None:
        if self.leader_id is None:
            raise MustWait

    def _changed(self) -> None:
        """Elect again when the leader is gone or a quorum came back; lose the leader without a quorum."""
        self.raft_index += 1
        voting = self._voting()
        running = sorted(member.id for member in voting if member.running)
        if len(running) < len(voting) // 2 + 1:
            self.leader_id = None
        elif self.leader_id not in running:
            self._elect(running[0])

    def _elect(self, new_leader: int) -> None:
        self.leader_id = new_leader
        self.raft_term += 1
        self.raft_index += 1


# ----- the gateway -----

def _header(etcd: SimulatedEtcd, me: int, *, revision: bool = False) -> dict[str, str]:
    header = {"cluster_id": str(etcd.cluster_id), "member_id": str(me)}
    if revision:
        header["revision"] = "1"
    header["raft_term"] = str(etcd.raft_term)
    return header


def _member_json(member: SimulatedMember) -> dict[str, Any]:
    shown: dict[str, Any] = {"ID": str(member.id), "name": member.name, "peerURLs": member.peer_urls,
                             "clientURLs": member.client_urls}
    if member.is_learner:
        shown["isLearner"] = True
    return shown


def _uint64(request: dict[str, Any], field: str) -> int:
    value = request.get(field, 0)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise EtcdApiError(INVALID_ARGUMENT, f"invalid value for uint64 field {field}: {json.dumps(value)}")
    number = int(value)
    if number >= 1 << 64:
        raise EtcdApiError(INVALID_ARGUMENT, f"value out of range for uint64 field {field}")
    return number


def _status(etcd: SimulatedEtcd, me: SimulatedMember) -> dict[str, Any]:
    answer: dict[str, Any] = {"header": _header(etcd, me.id, revision=True), "version": etcd.version,
                              "dbSize": "20480"}
    if etcd.leader_id is not None:
        answer["leader"] = str(etcd.leader_id)
    answer |= {"raftIndex": str(etcd.raft_index), "raftTerm": str(etcd.raft_term),
               "raftAppliedIndex": str(etcd.raft_index)}
    if errors := etcd.status_errors():
        answer["errors"] = errors
    answer["dbSizeInUse"] = "16384"
    if me.is_learner:
        answer["isLearner"] = True
    return answer


def _alarms(etcd: SimulatedEtcd, me: SimulatedMember, request: dict[str, Any]) -> dict[str, Any]:
    if request.get("action", "GET") not in ("GET", 0):
        raise EtcdApiError(INVALID_ARGUMENT, "the simulated etcd only lists alarms")
    alarms = [{"memberID": str(owner), "alarm": alarm} for owner, alarm in etcd.alarm_list()]
    return {"header": _header(etcd, me.id, revision=True)} | ({"alarms": alarms} if alarms else {})


def _member_list(etcd: SimulatedEtcd, me: SimulatedMember) -> dict[str, Any]:
    return {"header": _header(etcd, me.id), "members": [_member_json(member) for member in etcd.members]}


def _member_remove(etcd: SimulatedEtcd, me: SimulatedMember, request: dict[str, Any]) -> dict[str, Any]:
    remaining = etcd.remove_member(_uint64(request, "ID"), via=me.id)
    return {"header": _header(etcd, me.id), "members": [_member_json(member) for member in remaining]}


def _move_leader(etcd: SimulatedEtcd, me: SimulatedMember, request: dict[str, Any]) -> dict[str, Any]:
    etcd.move_leader(_uint64(request, "targetID"), via=me.id)
    return {}


Operation = Callable[[SimulatedEtcd, SimulatedMember, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Operation] = {
    "/v3/cluster/member/list": lambda etcd, me, _: _member_list(etcd, me),
    "/v3/cluster/member/remove": _member_remove,
    "/v3/maintenance/status": lambda etcd, me, _: _status(etcd, me),
    "/v3/maintenance/transfer-leadership": _move_leader,
    "/v3/maintenance/alarm": _alarms,
}

_GRPC_TIMEOUT = re.compile(r"(\d{1,8})([HMSmun])")
_UNIT_SECONDS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def _wait_limit(request: web.BaseRequest) -> float:
    """The request's deadline in seconds from now: its `Grpc-Timeout`, else `MAX_WAIT`."""
    matched = _GRPC_TIMEOUT.fullmatch(request.headers.get("Grpc-Timeout", ""))
    return int(matched[1]) * _UNIT_SECONDS[matched[2]] if matched else MAX_WAIT


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"error": message, "message": message, "code": code}, status=HTTP_STATUS[code])


class _Gateway:
    """One member's answers."""

    def __init__(self, etcd: SimulatedEtcd, name: str) -> None:
        self.etcd, self.id = etcd, member_id(name)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        me = self.etcd.member_by_id(self.id)
        if me is None or not me.running:
            if request.transport is not None:  # a member that is down does not answer at all
                request.transport.abort()
            raise asyncio.CancelledError
        operation = OPERATIONS.get(request.path)
        if operation is None:
            return web.Response(status=404, text="Not Found\n")
        if request.method != "POST":
            return web.Response(status=405, text="Method Not Allowed\n")
        try:
            body = await request.read()
            parsed = json.loads(body) if body.strip() else {}
        except ValueError as error:
            return _error(INVALID_ARGUMENT, str(error))
        if not isinstance(parsed, dict):
            return _error(INVALID_ARGUMENT, "a JSON object is expected")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _wait_limit(request)
        while True:
            try:
                return web.json_response(operation(self.etcd, me, parsed))
            except EtcdApiError as error:
                return _error(error.code, error.message)
            except MustWait:
                if loop.time() >= deadline:
                    return _error(*DEADLINE)
            await asyncio.sleep(0.02)


@dataclass
class MemberServer:
    """One member's HTTPS endpoint."""

    name: str
    port: int
    runner: web.BaseRunner

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def serve_member(etcd: SimulatedEtcd, name: str, ca_cert_pem: bytes, ca_key_pem: bytes) -> MemberServer:
    """Serve member `name`'s client port on 127.0.0.1 (a free port), mutual TLS with the etcd CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=ca_cert_pem.decode("ascii"))
    context.verify_mode = ssl.CERT_REQUIRED
    load_key_pair(context, member_certificate(ca_cert_pem, ca_key_pem, name))
    gateway = _Gateway(etcd, name)
    server = web.Server(gateway.handle, access_log=None)
    runner = web.ServerRunner(server, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port: int = runner.addresses[0][1]
    return MemberServer(name, port, runner)


class SimulatedEtcdCluster:
    """A workload cluster's simulated etcd and its members' servers (what the Dev provider keeps per cluster)."""

    def __init__(self, cluster_name: str, ca_cert_pem: bytes, ca_key_pem: bytes, *, version: str = DEFAULT_VERSION,
                 health_interval: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.etcd = SimulatedEtcd(cluster_name, version=version, health_interval=health_interval, clock=clock)
        self.servers: dict[str, MemberServer] = {}
        self._ca = KeyPair(ca_cert_pem, ca_key_pem)

    async def join(self, name: str, *, learner: bool = False) -> MemberServer:
        """Member `name` runs (added first if it is new) and its client port is served."""
        if self.etcd.member(name) is None:
            self.etcd.add_member(name, learner=learner)
        else:
            self.etcd.set_running(name, True)
        if name not in self.servers:
            self.servers[name] = await serve_member(self.etcd, name, self._ca.cert, self._ca.key)
        return self.servers[name]

    async def close(self) -> None:
        for server in self.servers.values():
            await server.close()
        self.servers.clear()


def member_certificate(ca_cert_pem: bytes, ca_key_pem: bytes, name: str) -> KeyPair:
    """An etcd member's serving (and peer) certificate as kubeadm makes etcd/server.crt: CN and DNS name the member,
    localhost and the loopback addresses, serverAuth and clientAuth, a key like the CA's."""
    ca_cert, ca_key = load_cert(ca_cert_pem), load_private_key(ca_key_pem)
    key = new_private_key(key_algorithm(ca_key))
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(name), x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + SERVING_CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return KeyPair(encode_cert(cert), encode_private_key(key))

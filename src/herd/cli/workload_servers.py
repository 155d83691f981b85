"""The simulated workload clusters' API servers for the Dev provider: herd's own API server, in memory.

One `APIServer` per workload cluster, each on its own port, serving with a certificate for the endpoint (and
127.0.0.1/localhost) signed by the cluster's CA from the machine's bootstrap data, and trusting client
certificates from that CA only. Bearer tokens: the server itself accepts the cluster's bootstrap tokens.
Each cluster's stacked etcd (`workload_etcd`) is reached through its API server's pod port-forward.

Implements `herd.providers.dev.WorkloadAPIServers`; lives in the CLI because only the CLI may import
herd.apiserver (DESIGN §3).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from herd.apiserver.auth import Authenticator
from herd.apiserver.clientcerts import request_client_certificates
from herd.apiserver.pki import CertificateAuthority, parse_host
from herd.apiserver.server import APIServer
from herd.apiserver.storage.base import LoadedState, Row
from herd.apiserver.storage.store import Store
from herd.providers.dev import WorkloadPKI

from .workload_etcd import ClusterEtcd, pod_dialer

log = logging.getLogger("herd.workload")

SERVING_COMMON_NAME = "kube-apiserver"
DEFAULT_HOSTS = ("127.0.0.1", "localhost")
EVENT_WINDOW = 5_000  # watch history per cluster; an informer further behind relists


class RetainedMemoryBackend:
    """A storage backend that keeps the live objects in memory across a stop and the next start.

    A simulated API server outage (`herd.dev/fail: apiserver-down`) then loses nothing, as a real control plane
    whose etcd survives would; only the watch history is gone (watches resume with a relist).
    """

    def __init__(self) -> None:
        self._live: dict[str, Row] = {}
        self._revision = 0

    def load(self, window: int) -> LoadedState:
        """The objects as the previous server left them (nothing on the first start)."""
        return LoadedState(current=list(self._live.values()), recent=[], revision=self._revision,
                           compacted_revision=self._revision)

    async def append(self, rows: list[Row]) -> None:
        for row in rows:
            self._revision = max(self._revision, row.revision)
            if row.deleted:
                self._live.pop(row.key, None)
            else:
                self._live[row.key] = row

    async def reserve(self, revision: int, *, clean: bool = False) -> None:
        """Rows are kept in memory as they are appended: a restart never finds fewer than readers saw."""

    async def compact(self, revision: int) -> None:
        """Only live rows are kept: nothing to compact."""

    async def close(self) -> None:
        """The rows stay for the next start."""


class WorkloadServers:
    """Runs, stops and tracks the workload clusters' API servers of this process."""

    def __init__(self) -> None:
        self._servers: dict[str, APIServer] = {}
        self._data: dict[str, RetainedMemoryBackend] = {}
        self._etcds: dict[str, ClusterEtcd] = {}  # kept with the data: an API server outage leaves etcd running
        self._locks: dict[str, asyncio.Lock] = {}

    def is_running(self, cluster_key: str) -> bool:
        return cluster_key in self._servers

    def url(self, cluster_key: str) -> str | None:
        """Where the cluster's API server answers, if it runs."""
        server = self._servers.get(cluster_key)
        return server.url if server is not None else None

    async def start(self, cluster_key: str, host: str, port: int, pki: WorkloadPKI,
                    names: tuple[str, ...] = ()) -> None:
        """Serve the cluster's API at host:port, its certificate naming `names` too (e.g. a load balancer's DNS
        name, as kubeadm puts the control plane endpoint in it); OSError if the port is taken, ValueError for an
        unusable CA."""
        async with self._locks.setdefault(cluster_key, asyncio.Lock()):
            if cluster_key in self._servers:
                return
            context = workload_ssl_context(pki, [host, *names, *DEFAULT_HOSTS])
            client_certificates = request_client_certificates(context, [pki.ca_cert])
            backend = self._data.setdefault(cluster_key, RetainedMemoryBackend())
            etcd = self._etcd(cluster_key)
            if pki.etcd_ca_cert is not None and pki.etcd_ca_key is not None:
                await etcd.set_ca(pki.etcd_ca_cert, pki.etcd_ca_key)
            server = APIServer(Store(backend, window=EVENT_WINDOW), ssl_context=context,
                               authenticator=Authenticator(client_certificates=client_certificates),
                               host=host, port=port, pod_dialer=pod_dialer(etcd, host, port))
            try:
                await server.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await server.stop()
                raise
            self._servers[cluster_key] = server
            log.info("workload cluster %s: API server listening on %s", cluster_key, server.url)

    async def stop(self, cluster_key: str, *, keep_data: bool = False) -> None:
        """Stop the cluster's API server; without `keep_data` its objects are dropped too."""
        async with self._locks.setdefault(cluster_key, asyncio.Lock()):
            server = self._servers.pop(cluster_key, None)
            if server is not None:
                await server.stop()
                log.info("workload cluster %s: API server stopped", cluster_key)
            if not keep_data:
                self._data.pop(cluster_key, None)
                self._locks.pop(cluster_key, None)
                etcd = self._etcds.pop(cluster_key, None)
                if etcd is not None:
                    await etcd.close()

    def _etcd(self, cluster_key: str) -> ClusterEtcd:
        found = self._etcds.get(cluster_key)
        if found is None:
            found = self._etcds[cluster_key] = ClusterEtcd(cluster_key)
        return found

    async def set_etcd_member(self, cluster_key: str, member_name: str, *, running: bool) -> None:
        """Add the member to the cluster's etcd when unknown (the first is the leader), and start or stop it;
        it answers once the cluster's API server started with the etcd CA."""
        await self._etcd(cluster_key).set_member(member_name, running=running)

    async def close(self) -> None:
        """Stop every server and drop every cluster's objects and etcd."""
        for cluster_key in list(self._servers):
            await self.stop(cluster_key)
        self._data.clear()
        etcds, self._etcds = list(self._etcds.values()), {}
        for etcd in etcds:
            await etcd.close()


def workload_ssl_context(pki: WorkloadPKI, hosts: list[str]) -> ssl.SSLContext:
    """TLS for a workload API server: a serving certificate from the cluster CA; client certificates are
    optional (bootstrap tokens need none) but one presented must chain to that CA."""
    cert_pem, key_pem = issue_serving_cert(pki.ca_cert, pki.ca_key, hosts)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # ssl loads a key pair only from files: a private directory that exists just for the call
    with tempfile.TemporaryDirectory(prefix="herd-workload-") as directory:
        cert_path, key_path = Path(directory) / "serving.crt", Path(directory) / "serving.key"
        for path, data in ((cert_path, cert_pem), (key_path, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
        context.load_cert_chain(certfile=cert_path, keyfile=key_path)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cadata=pki.ca_cert.decode("ascii"))
    context.set_alpn_protocols(["http/1.1"])  # aiohttp speaks HTTP/1.1 only
    return context


def issue_serving_cert(ca_cert_pem: bytes, ca_key_pem: bytes, hosts: list[str]) -> tuple[bytes, bytes]:
    """(cert, key) PEMs for serving `hosts`, signed by the cluster CA (ECDSA through herd's CA; the kubeadm
    bootstrap provider's default RSA CAs signed here, as herd's CA class only handles ECDSA keys)."""
    hosts = list(dict.fromkeys(hosts))
    try:
        return CertificateAuthority(ca_cert_pem, ca_key_pem).issue_server_cert(SERVING_COMMON_NAME, hosts)
    except ValueError:
        pass  # not ECDSA: issue with the generic signer below (which re-checks the pair)
    try:
        ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
        ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    except (ValueError, TypeError):
        raise ValueError("the cluster CA certificate or key in the bootstrap data cannot be read") from None
    if not isinstance(ca_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError("the cluster CA key type is not supported")
    public_der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if ca_key.public_key().public_bytes(*public_der) != ca_cert.public_key().public_bytes(*public_der):
        raise ValueError("the cluster CA key does not match its certificate")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = []
    for host in hosts:
        parsed = parse_host(host)
        names.append(x509.DNSName(parsed) if isinstance(parsed, str) else x509.IPAddress(parsed))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVING_COMMON_NAME)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(min(now + dt.timedelta(days=365), ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, None if isinstance(ca_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem

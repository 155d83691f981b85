"""A real kube-apiserver and etcd (built by `make real-k8s`) on loopback, configured as a kubeadm cluster would be:
TLS from a CA of its own, service-account keys, Node,RBAC authorization, a token file, NodeRestriction admission.
Tests that need it skip when the binaries have not been built, and fail instead in CI (`require_binaries`)."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from herd.apiserver.pki import CertificateAuthority

BIN_DIR = Path(__file__).resolve().parents[2] / ".cache" / "real-k8s" / "bin"
KUBE_APISERVER = BIN_DIR / "kube-apiserver"
ETCD = BIN_DIR / "etcd"
MISSING_REASON = f"{KUBE_APISERVER} and {ETCD} are not built: run `make real-k8s`"
# The user the admin token authenticates as; system:masters passes every authorization check, as kubeadm's admin.
ADMIN_USER = "kubernetes-admin"
ADMIN_GROUP = "system:masters"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


def binaries_built() -> bool:
    return KUBE_APISERVER.is_file() and ETCD.is_file()


def require_binaries() -> None:
    """Skip the test while the binaries are not built; in CI (CI=true), where `.ci/run` builds them, fail it
    instead, so that a broken build cannot pass as a skipped test."""
    if binaries_built():
        return
    if os.environ.get("CI", "").lower() in ("true", "1"):
        log = BIN_DIR.parent / "build.log"
        tail = log.read_text()[-3000:] if log.is_file() else "(no build log)"
        pytest.fail(f"{MISSING_REASON}; CI=true, so this is a failure. The build's last words:\n{tail}",
                    pytrace=False)
    pytest.skip(MISSING_REASON)


def free_port() -> int:
    """A loopback port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RealKubernetes:
    """A started etcd and kube-apiserver, the admin kubeconfig that reaches them, and how long they took to start."""

    directory: Path
    server: str
    kubeconfig: Path
    ca_cert: Path
    admin_token: str = field(repr=False)
    startup_seconds: float = 0.0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        """Stop kube-apiserver first, then etcd; each in its own process group, killed after 20 s."""
        for process in reversed(self.processes):
            stop_group(process)
        self.processes.clear()


def stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    # A session of its own, so teardown can signal the whole group and nothing outlives the test.
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_until_ok(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float,
                   context: ssl.SSLContext | None = None, token: str | None = None) -> None:
    """Poll `url` until it answers 200; fail with the process's log if it exits or the time runs out."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5,
                                        context=context) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s ({last}):\n{log.read_text()[-4000:]}")


def _write_pki(directory: Path) -> CertificateAuthority:
    ca = CertificateAuthority.generate("kubernetes")
    (directory / "ca.crt").write_bytes(ca.cert_pem)
    cert, key = ca.issue_server_cert("kube-apiserver", ["127.0.0.1", "localhost", "kubernetes",
                                                        "kubernetes.default.svc"])
    (directory / "apiserver.crt").write_bytes(cert)
    (directory / "apiserver.key").write_bytes(key)
    # Service-account tokens are signed with this key and verified with its public half, as kubeadm's sa.key/sa.pub.
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (directory / "sa.key").write_bytes(signing.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.TraditionalOpenSSL,
                                                             serialization.NoEncryption()))
    (directory / "sa.pub").write_bytes(signing.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return ca


def _write_kubeconfig(path: Path, server: str, ca: CertificateAuthority, token: str) -> None:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "admin@real",
        "clusters": [{"name": "real", "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca.cert_pem).decode()}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "admin@real", "context": {"cluster": "real", "user": "admin"}}],
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


def _start_etcd(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    log = directory / "etcd.log"
    process = _spawn([str(ETCD), "--name", "default", "--data-dir", str(directory / "etcd"),
                      "--listen-client-urls", client, "--advertise-client-urls", client,
                      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                      "--initial-cluster", f"default={peer}", "--log-level", "warn"], log)
    _wait_until_ok(f"{client}/health", process, log, timeout=60)
    return process, client


def _apiserver_args(directory: Path, port: int, etcd: str) -> list[str]:
    return [
        str(KUBE_APISERVER),
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
        f"--cert-dir={directory}",
        f"--tls-cert-file={directory / 'apiserver.crt'}", f"--tls-private-key-file={directory / 'apiserver.key'}",
        f"--client-ca-file={directory / 'ca.crt'}",
        f"--etcd-servers={etcd}",
        f"--service-account-key-file={directory / 'sa.pub'}",
        f"--service-account-signing-key-file={directory / 'sa.key'}",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        "--service-cluster-ip-range=10.96.0.0/12",
        "--authorization-mode=Node,RBAC",
        f"--token-auth-file={directory / 'tokens.csv'}",
        "--enable-admission-plugins=NodeRestriction",
        "--enable-bootstrap-token-auth=true",
        "--allow-privileged=true",
    ]


def start_real_kubernetes(directory: Path, *extra_args: str, timeout: float = 180) -> RealKubernetes:
    """etcd and kube-apiserver (with `extra_args`, e.g. audit flags) serving from `directory`, ready (/readyz answered
    200), with `directory`/admin.conf."""
    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    ca = _write_pki(directory)
    token = os.urandom(16).hex()
    tokens = directory / "tokens.csv"
    tokens.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"{ADMIN_GROUP}"\n')
    tokens.chmod(0o600)
    port = free_port()
    server = f"https://127.0.0.1:{port}"
    real = RealKubernetes(directory, server, directory / "admin.conf", directory / "ca.crt", token)
    try:
        etcd, etcd_url = _start_etcd(directory)
        real.processes.append(etcd)
        log = directory / "kube-apiserver.log"
        apiserver = _spawn([*_apiserver_args(directory, port, etcd_url), *extra_args], log)
        real.processes.append(apiserver)
        context = ssl.create_default_context(cafile=str(real.ca_cert))
        _wait_until_ok(f"{server}/readyz", apiserver, log, timeout, context=context, token=token)
    except BaseException:
        real.stop()
        raise
    _write_kubeconfig(real.kubeconfig, server, ca, token)
    real.startup_seconds = time.monotonic() - started
    return real


@contextlib.contextmanager
def real_kubernetes(directory: Path, *extra_args: str) -> Iterator[RealKubernetes]:
    """A started etcd and kube-apiserver while the block runs."""
    real = start_real_kubernetes(directory, *extra_args)
    try:
        yield real
    finally:
        real.stop()

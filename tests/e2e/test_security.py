"""Security of `herd serve`: who may talk to it, over what, and what it leaves on disk."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kubernetes import client, config
from support.plane import ServedPlane, start_plane

from herd.apiserver.pki import CertificateAuthority

TOKEN = "e2e-bearer-9f3c1d7a"


def plain_session(plane: ServedPlane) -> requests.Session:
    """A session that trusts the plane's CA but presents no client certificate."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override `verify`
    session.verify = str(plane.data_dir / "pki" / "ca.crt")
    return session


def exchange(port: int, context: ssl.SSLContext) -> bytes:
    """One HTTP request over a fresh TLS connection; the raw answer (b"" if the server hung up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, \
            context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
        return answer


@pytest.fixture(scope="module")
def token_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlane]:
    base = tmp_path_factory.mktemp("token-plane")
    tokens = base / "tokens.csv"
    tokens.write_text(f'# token,user,uid,"groups"\n{TOKEN},alice,uid-alice,"system:masters,dev"\n')
    old_umask = os.umask(0)  # the server must not rely on a strict umask for its secrets
    try:
        served = start_plane(base / "data", base / "cache", "--token-auth-file", str(tokens))
    finally:
        os.umask(old_umask)
    yield served
    served.stop()


# ---- authentication ----------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_anonymous_request_gets_401_status(token_plane: ServedPlane) -> None:
    result = subprocess.run(["curl", "-sk", "-w", "\n%{http_code}", f"{token_plane.url}/api/v1/namespaces"],
                            capture_output=True, text=True, timeout=30, check=True)
    body, code = result.stdout.rsplit("\n", 1)
    assert code == "401"
    status = json.loads(body)
    assert {k: status[k] for k in ("kind", "apiVersion", "status", "reason", "code")} == {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Unauthorized", "code": 401}


def test_anonymous_requests_never_reach_resources(token_plane: ServedPlane) -> None:
    session = plain_session(token_plane)
    for method, path in [("GET", "/api/v1/namespaces/default/secrets"), ("POST", "/api/v1/namespaces"),
                         ("GET", "/apis"), ("GET", "/openapi/v3"), ("DELETE", "/api/v1/namespaces/default")]:
        response = session.request(method, token_plane.url + path, json={"metadata": {"name": "x"}}, timeout=10)
        assert response.status_code == 401, (method, path)
        assert response.json()["reason"] == "Unauthorized"
    assert session.get(token_plane.url + "/version", timeout=10).json()["major"] == "1"  # public, as upstream


def test_bearer_token_from_token_auth_file_authenticates(token_plane: ServedPlane) -> None:
    session = plain_session(token_plane)
    good = session.get(token_plane.url + "/api/v1/namespaces", headers={"Authorization": f"Bearer {TOKEN}"},
                       timeout=10)
    assert good.status_code == 200
    assert "default" in [ns["metadata"]["name"] for ns in good.json()["items"]]

    for header in (f"Bearer {TOKEN}x", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}"):
        bad = session.get(token_plane.url + "/api/v1/namespaces", headers={"Authorization": header}, timeout=10)
        assert bad.status_code == 401, header
        assert bad.json()["reason"] == "Unauthorized"


def test_official_client_with_a_token_only_configuration(token_plane: ServedPlane) -> None:
    configuration = client.Configuration(host=token_plane.url)
    configuration.ssl_ca_cert = str(token_plane.data_dir / "pki" / "ca.crt")
    configuration.api_key = {"authorization": f"Bearer {TOKEN}"}
    with client.ApiClient(configuration) as api:
        created = client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name="made-with-a-token")))
        assert created.metadata.name == "made-with-a-token"


# ---- TLS ------------------------------------------------------------------------------------------------------

def test_client_trusting_another_ca_fails_tls(token_plane: ServedPlane) -> None:
    impostor_ca = CertificateAuthority.generate("not-herd")
    context = ssl.create_default_context(cadata=impostor_ca.cert_pem.decode())
    with pytest.raises(ssl.SSLCertVerificationError):
        exchange(token_plane.port, context)

    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        session.get(token_plane.url + "/version", verify=_write(token_plane, "impostor-ca.crt", impostor_ca.cert_pem),
                    timeout=10)


def test_client_certificate_from_another_ca_is_refused(token_plane: ServedPlane) -> None:
    impostor_ca = CertificateAuthority.generate("not-herd")
    cert_pem, key_pem = impostor_ca.issue_client_cert("admin", ["system:masters"])
    context = ssl.create_default_context(cafile=str(token_plane.data_dir / "pki" / "ca.crt"))
    context.load_cert_chain(_write(token_plane, "impostor.crt", cert_pem), _write(token_plane, "impostor.key", key_pem))
    # as kube-apiserver: the handshake completes and the authenticator refuses the certificate with a 401
    assert exchange(token_plane.port, context).startswith(b"HTTP/1.1 401 ")

    context = ssl.create_default_context(cafile=str(token_plane.data_dir / "pki" / "ca.crt"))  # no certificate
    assert exchange(token_plane.port, context).startswith(b"HTTP/1.1 401 ")


def test_herd_admin_client_certificate_is_accepted(token_plane: ServedPlane) -> None:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(token_plane.kubeconfig), client_configuration=configuration)
    assert configuration.host == token_plane.url
    with client.ApiClient(configuration) as api:
        assert client.CoreV1Api(api).read_namespace("default").status.phase == "Active"


def _write(plane: ServedPlane, name: str, data: bytes) -> str:
    path = plane.data_dir.parent / name
    path.write_bytes(data)
    return str(path)


# ---- files at rest -----------------------------------------------------------------------------------------

def test_secrets_at_rest_are_owner_only_even_with_umask_0(token_plane: ServedPlane) -> None:
    with client.ApiClient(_admin_configuration(token_plane)) as api:  # write something, so the WAL exists
        client.CoreV1Api(api).create_namespaced_secret("default", client.V1Secret(
            metadata=client.V1ObjectMeta(name="at-rest"), string_data={"password": "hunter2"}))

    data_dir = token_plane.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE((data_dir / "pki").stat().st_mode) == 0o700
    secrets = [data_dir / "management.kubeconfig", *sorted((data_dir / "pki").glob("*.key")),
               *sorted(data_dir.glob("state.db*"))]
    names = {p.name for p in secrets}
    assert {"management.kubeconfig", "ca.key", "apiserver.key", "admin.key", "state.db", "state.db-wal"} <= names
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in data_dir.rglob("*"):  # nothing else readable by others either, bar the public certificates
        if path.is_file() and path.suffix != ".crt":
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def _admin_configuration(plane: ServedPlane) -> client.Configuration:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(plane.kubeconfig), client_configuration=configuration)
    return configuration


# ---- bad command lines ---------------------------------------------------------------------------------------

def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(tmp_path / "data"),
                           *args], capture_output=True, text=True, timeout=60)


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("herd: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_port_out_of_range_is_one_clear_line(tmp_path: Path) -> None:
    result = serve(tmp_path, "--port", "70000")
    assert_one_clear_line(result, "--port", "70000")
    assert not (tmp_path / "data").exists()


def test_unreadable_token_file_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tokens.csv"
    assert_one_clear_line(serve(tmp_path, "--port", "0", "--token-auth-file", str(missing)),
                          "--token-auth-file", str(missing))
    assert_one_clear_line(serve(tmp_path, "--port", "0", "--token-auth-file", str(tmp_path)),  # a directory
                          "--token-auth-file")
    if os.geteuid() != 0:  # root reads mode-000 files anyway
        locked = tmp_path / "locked.csv"
        locked.write_text(f"{TOKEN},alice,1\n")
        locked.chmod(0)
        assert_one_clear_line(serve(tmp_path, "--port", "0", "--token-auth-file", str(locked)), "--token-auth-file")
    assert not (tmp_path / "data").exists()  # refused before touching the data dir


def test_malformed_token_file_names_the_line_but_not_the_token(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(f"{TOKEN},alice,1\nsecond-secret-token,only-two-columns\n")
    result = serve(tmp_path, "--port", "0", "--token-auth-file", str(tokens))
    assert_one_clear_line(result, "--token-auth-file", "line 2")
    assert TOKEN not in result.stderr
    assert "second-secret-token" not in result.stderr


def test_compaction_window_below_one_is_one_clear_line(tmp_path: Path) -> None:
    assert_one_clear_line(serve(tmp_path, "--port", "0", "--compaction-window", "0"), "--compaction-window")


def test_port_in_use_is_one_clear_line(token_plane: ServedPlane, tmp_path: Path) -> None:
    result = serve(tmp_path, "--port", str(token_plane.port))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("herd: ")]
    assert len(errors) == 1
    assert str(token_plane.port) in errors[0]

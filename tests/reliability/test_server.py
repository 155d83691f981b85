"""The API server's connection layer against `herd serve`: HTTP-level errors, client certificates, the data dir."""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.plane import ServedPlane, serving

from herd.apiserver.pki import CertificateAuthority

TOKEN = "reliability-server-token"


@pytest.fixture(scope="module")
def token_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlane]:
    base = tmp_path_factory.mktemp("server")
    tokens = base / "tokens.csv"
    tokens.write_text(f'{TOKEN},bob,uid-bob,"system:masters"\n')
    with serving(base, "--storage", "memory", "--token-auth-file", str(tokens)) as plane:
        yield plane


def tls_context(plane: ServedPlane, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(plane.data_dir / "pki" / "ca.crt"))
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


Answer = tuple[int, dict[str, str], bytes]


def exchange(plane: ServedPlane, raw: bytes, context: ssl.SSLContext | None = None) -> Answer:
    """Send `raw` bytes over one TLS connection; the status code, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", plane.port), timeout=10) as sock, \
            (context or tls_context(plane)).wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        tls.sendall(raw)
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def request_bytes(method: str, target: str, *headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {TOKEN}",
             "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assert_status(answer: Answer, code: int, reason: str) -> None:
    status, headers, body = answer
    assert status == code, body
    assert headers.get("content-type", "").startswith("application/json")
    document = json.loads(body)
    assert (document["kind"], document["code"], document["reason"]) == ("Status", code, reason)


@pytest.mark.parametrize(("raw", "code", "reason"), [
    (request_bytes("GET", "/api/v1/namespaces?labelSelector=" + "a" * 70_000), 431, "RequestHeaderFieldsTooLarge"),
    (request_bytes("GET", "/api/v1/namespaces", "X-Padding: " + "b" * 70_000), 431, "RequestHeaderFieldsTooLarge"),
    (request_bytes("FROB", "/api/v1/namespaces"), 405, "MethodNotAllowed"),
    (b"\x01\x02garbage / HTTP/1.1\r\n\r\n", 400, "BadRequest"),
    (b"GET /version HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n", 400, "BadRequest"),
    (b"GET /version HTTP/9.9\r\n\r\n", 400, "BadRequest"),
], ids=["long-url", "long-header", "unknown-method", "garbage", "bad-header", "bad-version"])
def test_errors_of_the_http_layer_are_status_objects(token_plane: ServedPlane, raw: bytes, code: int,
                                                     reason: str) -> None:
    assert_status(exchange(token_plane, raw), code, reason)


def test_malformed_requests_are_not_logged_as_errors(token_plane: ServedPlane) -> None:
    before = len(token_plane.output)
    for _ in range(3):
        exchange(token_plane, b"\x01\x02garbage / HTTP/1.1\r\n\r\n")
        exchange(token_plane, b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n")
    time.sleep(0.2)  # the server's output is read by a thread
    logged = "".join(token_plane.output[before:])
    assert "ERROR" not in logged and "Traceback" not in logged, logged


def foreign_client_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = CertificateAuthority.generate("not-herd").issue_client_cert("admin", ["system:masters"])
    (directory / "foreign.crt").write_bytes(cert)
    (directory / "foreign.key").write_bytes(key)
    os.chmod(directory / "foreign.key", 0o600)
    return directory / "foreign.crt", directory / "foreign.key"


def test_a_foreign_client_certificate_is_answered_401_not_a_dropped_handshake(
        token_plane: ServedPlane, tmp_path: Path) -> None:
    cert, key = foreign_client_certificate(tmp_path)
    anonymous = b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert_status(exchange(token_plane, anonymous, tls_context(token_plane, cert, key)), 401, "Unauthorized")
    # kube-apiserver's union authenticator: the certificate does not verify, the token still does
    status, _, body = exchange(token_plane, request_bytes("GET", "/api/v1/namespaces"),
                               tls_context(token_plane, cert, key))
    assert status == 200 and json.loads(body)["kind"] == "NamespaceList"


def test_a_certificate_of_the_right_ca_but_not_for_clients_is_refused(token_plane: ServedPlane) -> None:
    pki = token_plane.data_dir / "pki"
    context = tls_context(token_plane, pki / "apiserver.crt", pki / "apiserver.key")
    anonymous = b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert_status(exchange(token_plane, anonymous, context), 401, "Unauthorized")


def test_kubectl_with_a_foreign_certificate_fails_fast_with_unauthorized(
        token_plane: ServedPlane, tmp_path: Path) -> None:
    cert, key = foreign_client_certificate(tmp_path)
    ca = token_plane.data_dir / "pki" / "ca.crt"
    common = ("--server", token_plane.url, "--certificate-authority", str(ca), "--client-certificate", str(cert),
              "--client-key", str(key), "--kubeconfig", "/dev/null")
    started = time.monotonic()
    refused = token_plane.kubectl(*common, "get", "namespaces", check=False)
    elapsed = time.monotonic() - started
    # kubectl's words for a 401, against kube-apiserver too
    assert refused.returncode != 0 and "You must be logged in to the server" in refused.stderr, refused.stderr
    assert elapsed < 2.0
    accepted = token_plane.kubectl(*common, "--token", TOKEN, "get", "namespaces", "-o", "name", check=False)
    assert accepted.returncode == 0 and "namespace/default" in accepted.stdout, accepted.stderr


def test_a_world_writable_data_dir_is_restricted_to_its_owner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o777)
    with serving(tmp_path, "--storage", "memory"):
        assert stat.S_IMODE(data.stat().st_mode) == 0o700

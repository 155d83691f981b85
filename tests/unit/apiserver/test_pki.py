"""PKI generation, reuse and the server TLS context, including real handshakes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import ssl
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from herd.apiserver.auth import Authenticator
from herd.apiserver.pki import (
    CertificateAuthority,
    ServerPKI,
    ensure_server_pki,
    server_ssl_context,
    write_file_atomic,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cert(path_or_pem: Path | bytes) -> x509.Certificate:
    pem = path_or_pem.read_bytes() if isinstance(path_or_pem, Path) else path_or_pem
    return x509.load_pem_x509_certificate(pem)


def _sans(cert: x509.Certificate) -> tuple[set[str], set[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {ip for ip in san.get_values_for_type(x509.IPAddress) if not isinstance(ip, ipaddress._BaseNetwork)}
    return set(san.get_values_for_type(x509.DNSName)), ips


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)



@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.generate("test-ca")


# --- CertificateAuthority -------------------------------------------------------------------------------


def test_ca_is_a_self_signed_ca(ca: CertificateAuthority) -> None:
    cert = _cert(ca.cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "test-ca"
    assert cert.issuer == cert.subject
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    cert.verify_directly_issued_by(cert)
    assert cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=3000)


def test_ca_repr_hides_key(ca: CertificateAuthority) -> None:
    text = repr(ca)
    assert "test-ca" in text
    assert "PRIVATE" not in text and ca.key_pem.decode() not in text


def test_ca_rejects_mismatched_key(ca: CertificateAuthority) -> None:
    other = CertificateAuthority.generate("other")
    with pytest.raises(ValueError, match="does not match") as info:
        CertificateAuthority(ca.cert_pem, other.key_pem)
    assert "PRIVATE" not in str(info.value)
    with pytest.raises(ValueError, match="cannot parse private key"):
        CertificateAuthority(ca.cert_pem, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_server_cert_sans_and_usage(ca: CertificateAuthority) -> None:
    cert_pem, key_pem = ca.issue_server_cert(
        "srv", ["example.com", "10.0.0.1", "::1", "[fd00::1]", "10.0.0.1"]
    )
    assert b"PRIVATE KEY" in key_pem
    cert = _cert(cert_pem)
    cert.verify_directly_issued_by(_cert(ca.cert_pem))
    names, ips = _sans(cert)
    assert names == {"example.com"}
    assert ips == {ipaddress.ip_address(a) for a in ("10.0.0.1", "::1", "fd00::1")}
    assert _eku(cert) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_server_cert_needs_a_host(ca: CertificateAuthority) -> None:
    with pytest.raises(ValueError):
        ca.issue_server_cert("srv", [])


def test_client_cert_subject(ca: CertificateAuthority) -> None:
    cert = _cert(ca.issue_client_cert("alice", ["dev", "ops"])[0])
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["alice"]
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["dev", "ops"]
    assert _eku(cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    cert.verify_directly_issued_by(_cert(ca.cert_pem))


def test_leaf_lifetime_is_clamped_to_the_ca() -> None:
    short = CertificateAuthority.generate("short", days=10)
    leaf = _cert(short.issue_client_cert("bob", [], days=365)[0])
    assert leaf.not_valid_after_utc <= _cert(short.cert_pem).not_valid_after_utc


# --- ensure_server_pki ----------------------------------------------------------------------------------


def test_ensure_server_pki_creates_files(tmp_path: Path, permissive_umask: None) -> None:
    data = tmp_path / "data"
    pki = ensure_server_pki(data, ["herd.example", "192.168.1.5"])
    assert pki == ServerPKI.in_directory(data / "pki")
    assert _mode(data) == 0o700 and _mode(data / "pki") == 0o700
    for key in (pki.ca_key, pki.serving_key, pki.admin_key):
        assert _mode(key) == 0o600
    for cert in (pki.ca_cert, pki.serving_cert, pki.admin_cert):
        assert _mode(cert) == 0o644
    assert "PRIVATE" not in repr(pki)

    ca_cert = _cert(pki.ca_cert)
    assert ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "herd-ca"
    serving = _cert(pki.serving_cert)
    serving.verify_directly_issued_by(ca_cert)
    names, ips = _sans(serving)
    assert names == {"localhost", "herd.example"}
    assert ips == {ipaddress.ip_address(a) for a in ("127.0.0.1", "::1", "192.168.1.5")}
    admin = _cert(pki.admin_cert)
    admin.verify_directly_issued_by(ca_cert)
    assert admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "admin"
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    assert pki.certificate_authority().cert_pem == pki.ca_cert.read_bytes()
    assert not [p for p in (data / "pki").iterdir() if p.name.endswith(".tmp")]


def test_ensure_server_pki_reuses_and_reissues(tmp_path: Path) -> None:
    pki = ensure_server_pki(tmp_path, ["a.example"])
    before = {p: p.read_bytes() for p in (pki.ca_cert, pki.ca_key, pki.serving_cert, pki.admin_cert)}

    ensure_server_pki(tmp_path, ["a.example", "127.0.0.1"])  # nothing new requested: all reused
    assert {p: p.read_bytes() for p in before} == before

    ensure_server_pki(tmp_path, ["b.example"])  # a new host: only the serving cert changes
    assert pki.serving_cert.read_bytes() != before[pki.serving_cert]
    assert pki.ca_key.read_bytes() == before[pki.ca_key]
    assert pki.admin_cert.read_bytes() == before[pki.admin_cert]
    names, _ = _sans(_cert(pki.serving_cert))
    assert "b.example" in names and "localhost" in names


def test_ensure_server_pki_renews_expiring_and_foreign_leaves(tmp_path: Path) -> None:
    pki = ensure_server_pki(tmp_path, [])
    ca = pki.certificate_authority()
    cert_pem, key_pem = ca.issue_server_cert("herd-apiserver", ["localhost", "127.0.0.1", "::1"], days=10)
    write_file_atomic(pki.serving_key, key_pem)
    write_file_atomic(pki.serving_cert, cert_pem, mode=0o644)
    foreign = CertificateAuthority.generate("herd-ca").issue_client_cert("admin", ["system:masters"])
    write_file_atomic(pki.admin_cert, foreign[0], mode=0o644)

    ensure_server_pki(tmp_path, [])
    assert _cert(pki.serving_cert).not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=300)
    _cert(pki.admin_cert).verify_directly_issued_by(_cert(pki.ca_cert))


def test_ensure_server_pki_reissues_after_lost_key(tmp_path: Path) -> None:
    pki = ensure_server_pki(tmp_path, [])
    old_ca = pki.ca_cert.read_bytes()
    pki.ca_key.unlink()
    ensure_server_pki(tmp_path, [])
    assert pki.ca_cert.read_bytes() != old_ca
    # Everything hanging off the lost CA is reissued under the new one.
    _cert(pki.serving_cert).verify_directly_issued_by(_cert(pki.ca_cert))
    _cert(pki.admin_cert).verify_directly_issued_by(_cert(pki.ca_cert))


def test_ensure_server_pki_refuses_corrupt_ca(tmp_path: Path) -> None:
    pki = ensure_server_pki(tmp_path, [])
    pki.ca_key.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="private key"):
        ensure_server_pki(tmp_path, [])


def test_write_file_atomic_mode_and_replace(tmp_path: Path, permissive_umask: None) -> None:
    target = tmp_path / "secret"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_file_atomic(target, b"new")
    assert target.read_bytes() == b"new" and _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


# --- TLS handshakes -------------------------------------------------------------------------------------


@pytest.fixture
def server_pki(tmp_path: Path) -> ServerPKI:
    return ensure_server_pki(tmp_path, [])


@pytest.fixture
async def tls_server(server_pki: ServerPKI) -> AsyncIterator[tuple[int, list[Any]]]:
    """A TLS echo-ish server on 127.0.0.1 that records each connection's peercert and ALPN protocol."""
    seen: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(
            (writer.get_extra_info("peercert"), writer.get_extra_info("ssl_object").selected_alpn_protocol())
        )
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ssl_context(server_pki))
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        server.close()
        await server.wait_closed()


def _client_context(ca_cert: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_cert))
    # Python 3.13 turns strict checks on by default; prove our certificates already satisfy them.
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    if cert is not None and key is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


async def _exchange(port: int, ctx: ssl.SSLContext, server_hostname: str = "localhost") -> bytes:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=ctx, server_hostname=server_hostname
    )
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def test_handshake_with_admin_certificate(
    server_pki: ServerPKI, tls_server: tuple[int, list[Any]]
) -> None:
    port, seen = tls_server
    ctx = _client_context(server_pki.ca_cert, server_pki.admin_cert, server_pki.admin_key)
    assert await _exchange(port, ctx) == b"ok"
    peercert, alpn = seen[0]
    assert alpn == "http/1.1"
    subject = {k: v for rdn in peercert["subject"] for k, v in rdn}
    assert subject == {"commonName": "admin", "organizationName": "system:masters"}
    user = await Authenticator().authenticate(peercert, None)
    assert user is not None
    assert user.name == "admin"
    assert user.groups == ("system:masters", "system:authenticated")


async def test_handshake_without_client_certificate(
    server_pki: ServerPKI, tls_server: tuple[int, list[Any]]
) -> None:
    port, seen = tls_server
    # Also checks the IP SAN: the client verifies the server as 127.0.0.1, not as localhost.
    assert await _exchange(port, _client_context(server_pki.ca_cert), server_hostname="127.0.0.1") == b"ok"
    peercert, _ = seen[0]
    assert not peercert
    assert await Authenticator().authenticate(peercert, None) is None


async def test_client_trusting_another_ca_fails(tls_server: tuple[int, list[Any]], tmp_path: Path) -> None:
    port, seen = tls_server
    other = tmp_path / "other-ca.crt"
    other.write_bytes(CertificateAuthority.generate("herd-ca").cert_pem)
    with pytest.raises(ssl.SSLCertVerificationError):
        await _exchange(port, _client_context(other))
    assert seen == []


async def _rejected(port: int, ctx: ssl.SSLContext) -> bool:
    # Under TLS 1.3 the server judges the client certificate after the client's handshake completes, so
    # the rejection surfaces on the first read (alert or reset) rather than in open_connection.
    try:
        return await _exchange(port, ctx) != b"ok"
    except (ssl.SSLError, ConnectionError):
        return True


async def test_client_certificate_from_another_ca_is_rejected(
    server_pki: ServerPKI, tls_server: tuple[int, list[Any]], tmp_path: Path
) -> None:
    port, seen = tls_server
    cert_pem, key_pem = CertificateAuthority.generate("herd-ca").issue_client_cert(
        "admin", ["system:masters"]
    )
    (tmp_path / "c.crt").write_bytes(cert_pem)
    write_file_atomic(tmp_path / "c.key", key_pem)
    ctx = _client_context(server_pki.ca_cert, tmp_path / "c.crt", tmp_path / "c.key")
    assert await _rejected(port, ctx)
    assert seen == []


async def test_serving_certificate_is_not_a_client_certificate(
    server_pki: ServerPKI, tls_server: tuple[int, list[Any]]
) -> None:
    port, seen = tls_server
    # Signed by the right CA but only good for serverAuth: the EKU check must refuse it.
    ctx = _client_context(server_pki.ca_cert, server_pki.serving_cert, server_pki.serving_key)
    assert await _rejected(port, ctx)
    assert seen == []


async def test_extra_client_ca_is_trusted(tmp_path: Path) -> None:
    pki = ensure_server_pki(tmp_path / "data", [])
    extra = CertificateAuthority.generate("partner-ca")
    cert_pem, key_pem = extra.issue_client_cert("partner", ["partners"])
    (tmp_path / "p.crt").write_bytes(cert_pem)
    write_file_atomic(tmp_path / "p.key", key_pem)
    seen: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(writer.get_extra_info("peercert"))
        writer.write(b"ok")
        writer.close()

    server = await asyncio.start_server(
        handle, "127.0.0.1", 0, ssl=server_ssl_context(pki, client_ca_pems=[extra.cert_pem])
    )
    try:
        port = server.sockets[0].getsockname()[1]
        ctx = _client_context(pki.ca_cert, tmp_path / "p.crt", tmp_path / "p.key")
        assert await _exchange(port, ctx) == b"ok"
    finally:
        server.close()
        await server.wait_closed()
    user = await Authenticator().authenticate(seen[0], None)
    assert user is not None and user.name == "partner" and "partners" in user.groups


def test_server_context_settings(server_pki: ServerPKI) -> None:
    ctx = server_ssl_context(server_pki)
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2

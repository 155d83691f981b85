"""The API server's PKI: a private CA, serving and admin certificates, and the server's TLS context.

Keys are ECDSA P-256: generation takes milliseconds (RSA 2048 takes ~100 ms each), and both kubectl (Go)
and the Python client (OpenSSL) accept them. Certificates carry the extensions strict verifiers insist on
(critical basicConstraints, key identifiers, SANs) so Python's `VERIFY_X509_STRICT` and Go accept them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import logging
import os
import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

CA_COMMON_NAME = "herd-ca"
SERVING_COMMON_NAME = "herd-apiserver"
ADMIN_USER = "admin"
ADMIN_GROUPS = ("system:masters",)
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
RENEW_BEFORE = dt.timedelta(days=30)
# Backdating absorbs clock skew between this host and clients (VMs, containers with a drifting clock).
_BACKDATE = dt.timedelta(minutes=5)

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # PKCS#8 is understood by OpenSSL, Go's tls.X509KeyPair and kubectl alike.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_der(key: ec.EllipticCurvePublicKey | object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("unsupported public key type (only ECDSA keys are issued by herd)")
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _load_private_key(key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        # Deliberately drop the original error: never echo anything derived from key material.
        raise ValueError("cannot parse private key PEM") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("unsupported private key type (only ECDSA keys are supported)")
    return key


def parse_host(host: str) -> _IPAddress | str:
    """Return `host` as an IP address if it is one (brackets allowed), else as a lower-cased DNS name."""
    bare = host.strip()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        if not bare:
            raise ValueError("empty host name") from None
        return bare.lower().rstrip(".")


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    # No keyEncipherment: ECDSA keys never encipher (only RSA serving certs need that bit).
    unused = ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
    flags = dict.fromkeys((*unused, "encipher_only", "decipher_only"), False)
    return x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca, **flags)


def _san_entries(hosts: list[str]) -> list[x509.GeneralName]:
    unique = dict.fromkeys(parse_host(h) for h in hosts)  # dedupe, keeping the caller's order
    return [x509.DNSName(h) if isinstance(h, str) else x509.IPAddress(h) for h in unique]


@dataclass(frozen=True, repr=False)
class CertificateAuthority:
    """A CA certificate and its private key, held in memory as PEM."""

    cert_pem: bytes
    key_pem: bytes = field(repr=False)
    # Parsed once at construction; also proves the key belongs to the certificate.
    _cert: x509.Certificate = field(init=False, repr=False, compare=False)
    _key: ec.EllipticCurvePrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            cert = x509.load_pem_x509_certificate(self.cert_pem)
        except ValueError:
            raise ValueError("cannot parse CA certificate PEM") from None
        key = _load_private_key(self.key_pem)
        if _public_der(cert.public_key()) != _public_der(key.public_key()):
            raise ValueError("CA private key does not match the CA certificate")
        # Frozen dataclass: object.__setattr__ is the sanctioned way to fill derived fields.
        object.__setattr__(self, "_cert", cert)
        object.__setattr__(self, "_key", key)

    def __repr__(self) -> str:
        return f"CertificateAuthority(subject={self._cert.subject.rfc4514_string()!r})"

    @property
    def certificate(self) -> x509.Certificate:
        """The parsed CA certificate."""
        return self._cert

    @classmethod
    def generate(cls, common_name: str, *, days: int = 3650) -> CertificateAuthority:
        """Create a self-signed ECDSA P-256 CA valid for `days` days."""
        key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        """Read a CA from PEM files."""
        return cls(cert_path.read_bytes(), key_path.read_bytes())

    def _issue(
        self, subject: x509.Name, *, days: int, eku: x509.ObjectIdentifier, sans: list[x509.GeneralName]
    ) -> tuple[bytes, bytes]:
        key = _new_key()
        now = _now()
        # A leaf outliving its CA is useless and some verifiers flag it, so clamp to the CA's lifetime.
        not_after = min(now + dt.timedelta(days=days), self._cert.not_valid_after_utc)
        try:
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                self._cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            )
        except x509.ExtensionNotFound:  # a CA made elsewhere without an SKI: derive the identifier
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(aki, critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    def issue_server_cert(
        self, common_name: str, hosts: list[str], *, days: int = 365
    ) -> tuple[bytes, bytes]:
        """Issue `(cert_pem, key_pem)` for serving: IP and DNS SANs for `hosts`, EKU serverAuth."""
        sans = _san_entries(hosts)
        if not sans:
            # Go ignores the CN for host verification, so a SAN-less serving cert can never be verified.
            raise ValueError("a serving certificate needs at least one host")
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        return self._issue(subject, days=days, eku=ExtendedKeyUsageOID.SERVER_AUTH, sans=sans)

    def issue_client_cert(self, user: str, groups: list[str], *, days: int = 365) -> tuple[bytes, bytes]:
        """Issue `(cert_pem, key_pem)` for a client: CN = `user`, one O per group, EKU clientAuth."""
        if not user:
            raise ValueError("a client certificate needs a user name")
        # Kubernetes reads groups from O attributes in the subject; order is kept for readability.
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
        return self._issue(x509.Name(attrs), days=days, eku=ExtendedKeyUsageOID.CLIENT_AUTH, sans=[])


@dataclass(frozen=True)
class ServerPKI:
    """Paths of the API server's PKI files (only paths, so the repr is safe to log)."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path

    @classmethod
    def in_directory(cls, pki_dir: Path) -> ServerPKI:
        """The standard file layout under `pki_dir`."""
        return cls(
            ca_cert=pki_dir / "ca.crt",
            ca_key=pki_dir / "ca.key",
            serving_cert=pki_dir / "apiserver.crt",
            serving_key=pki_dir / "apiserver.key",
            admin_cert=pki_dir / "admin.crt",
            admin_key=pki_dir / "admin.key",
        )

    def certificate_authority(self) -> CertificateAuthority:
        """Load the CA (e.g. to issue more client certificates)."""
        return CertificateAuthority.load(self.ca_cert, self.ca_key)


def ensure_private_dir(path: Path) -> None:
    """Create `path` and any missing parents with mode 0700; existing directories are left alone."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        # os.mkdir applies the mode at creation (Path.mkdir(parents=True) would not for the parents).
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)


def write_file_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Atomically replace `path` with `data`; the file has `mode` from the moment it exists.

    A temporary file in the same directory is created with `mode` (O_EXCL, so never an existing file or
    symlink), fsynced, then renamed over the target, so readers see either the old or the new content.
    A symlinked target is resolved first so the link keeps pointing at the updated file.
    """
    target = Path(os.path.realpath(path))
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        try:
            # The umask can only narrow `mode`; fchmod makes it exact (e.g. 0644 for certificates).
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # Persist the rename itself; best effort because some filesystems refuse fsync on directories.
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def _locked(pki_dir: Path) -> Iterator[None]:
    # Two processes starting at once must not each mint a different CA.
    fd = os.open(pki_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _leaf_problem(
    ca: CertificateAuthority, cert_path: Path, key_path: Path, hosts: set[_IPAddress | str]
) -> str | None:
    """Why the leaf at cert_path/key_path must be (re)issued, or None if it is still good."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return "missing or unreadable"
    try:
        cert.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return "not issued by the current CA"
    if cert.not_valid_after_utc - _now() < RENEW_BEFORE:
        return "expires within 30 days"
    if missing := hosts - _san_set(cert):
        return "missing hosts " + ", ".join(sorted(str(h) for h in missing))
    try:
        key = _load_private_key(key_path.read_bytes())
        if _public_der(cert.public_key()) != _public_der(key.public_key()):
            return "private key does not match"
    except (OSError, ValueError):
        return "private key missing, unreadable or unsupported"
    return None


def _san_set(cert: x509.Certificate) -> set[_IPAddress | str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found: set[_IPAddress | str] = {n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)}
    found.update(ip for ip in san.get_values_for_type(x509.IPAddress) if not isinstance(ip, _IPNetwork))
    return found


def _write_pair(cert_path: Path, key_path: Path, cert_pem: bytes, key_pem: bytes) -> None:
    # Key first: a crash in between leaves a key without a certificate, which the next run simply reissues.
    write_file_atomic(key_path, key_pem, mode=0o600)
    write_file_atomic(cert_path, cert_pem, mode=0o644)


def ensure_server_pki(directory: Path, hosts: list[str]) -> ServerPKI:
    """Create or reuse the CA, serving and admin certificates under `directory/pki/`.

    The CA is only replaced when absent, incomplete or expired (replacing it invalidates every kubeconfig).
    The serving certificate is reissued when it lacks a requested host, expires within 30 days or no longer
    matches the CA; the admin certificate likewise on expiry or CA mismatch.
    """
    ensure_private_dir(directory)
    pki_dir = directory / "pki"
    ensure_private_dir(pki_dir)
    if pki_dir.stat().st_mode & 0o077:
        os.chmod(pki_dir, 0o700)  # the directory is herd's own; tighten anything looser
    pki = ServerPKI.in_directory(pki_dir)
    all_hosts = [*DEFAULT_HOSTS, *hosts]
    with _locked(pki_dir):
        ca = _ensure_ca(pki)
        wanted = {parse_host(h) for h in all_hosts}
        if reason := _leaf_problem(ca, pki.serving_cert, pki.serving_key, wanted):
            log.info("issuing API server serving certificate (%s)", reason)
            pair = ca.issue_server_cert(SERVING_COMMON_NAME, all_hosts)
            _write_pair(pki.serving_cert, pki.serving_key, *pair)
        if reason := _leaf_problem(ca, pki.admin_cert, pki.admin_key, set()):
            log.info("issuing admin client certificate (%s)", reason)
            _write_pair(pki.admin_cert, pki.admin_key, *ca.issue_client_cert(ADMIN_USER, list(ADMIN_GROUPS)))
    return pki


def _ensure_ca(pki: ServerPKI) -> CertificateAuthority:
    if pki.ca_cert.exists() and pki.ca_key.exists():
        ca = CertificateAuthority.load(pki.ca_cert, pki.ca_key)  # corrupt files raise: never silently re-key
        if ca.certificate.not_valid_after_utc > _now():
            return ca
        log.warning("CA certificate %s has expired; generating a new CA", pki.ca_cert)
    elif pki.ca_cert.exists() or pki.ca_key.exists():
        log.warning("incomplete CA in %s; generating a new CA", pki.ca_cert.parent)
    else:
        log.info("generating cluster CA in %s", pki.ca_cert.parent)
    ca = CertificateAuthority.generate(CA_COMMON_NAME)
    _write_pair(pki.ca_cert, pki.ca_key, ca.cert_pem, ca.key_pem)
    return ca


def server_ssl_context(pki: ServerPKI, client_ca_pems: list[bytes] | None = None) -> ssl.SSLContext:
    """A TLS server context: serving certificate, optional client certificates verified against the CA.

    With CERT_OPTIONAL a client may omit its certificate (token or anonymous requests), but one that is
    presented must chain to a trusted CA and carry clientAuth, or the handshake fails.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile=pki.serving_cert, keyfile=pki.serving_key)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(cafile=pki.ca_cert)
    for pem in client_ca_pems or []:
        ctx.load_verify_locations(cadata=pem.decode("ascii"))
    # aiohttp only speaks HTTP/1.1; advertising h2 would make clients attempt a protocol we cannot serve.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx

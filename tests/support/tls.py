"""A serving certificate for 127.0.0.1, signed by a CA of its own, for the tests' HTTPS (webhook) servers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from herd.apiserver.pki import CertificateAuthority


@dataclass(frozen=True)
class ServingCertificate:
    ca: CertificateAuthority
    cert: Path
    key: Path


def serving_certificate(directory: Path, name: str) -> ServingCertificate:
    """A new CA `name`-ca and the certificate it signed for `name` at 127.0.0.1, written to `directory` as tls.crt
    and tls.key."""
    ca = CertificateAuthority.generate(f"{name}-ca")
    cert, key = ca.issue_server_cert(name, ["127.0.0.1"])
    (directory / "tls.crt").write_bytes(cert)
    (directory / "tls.key").write_bytes(key)
    return ServingCertificate(ca, directory / "tls.crt", directory / "tls.key")

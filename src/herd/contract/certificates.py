"""The cluster certificates: the CAs (`<cluster>-ca`, `-etcd`, `-proxy`) and the service account key pair
(`<cluster>-sa`) that every control plane machine shares, kept as Secrets in the management cluster.

Keys follow `clusterConfiguration.encryptionAlgorithm` as kubeadm does (RSA-2048 when not given; ECDSA-P256/P384
and RSA-3072/4096 on request). CAs are self-signed, CN `kubernetes`, valid `caCertificateValidityPeriodDays`
(3650 days when not given). Nothing here logs key material.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from herd.api.cluster.labels import CLUSTER_NAME_LABEL, CLUSTER_SECRET_TYPE
from herd.runtime import SECRET, AlreadyExists, Client, NotFound, Object, owner_reference

Purpose = Literal["ca", "etcd", "proxy", "sa"]
CLUSTER_CA: Purpose = "ca"
ETCD_CA: Purpose = "etcd"
FRONT_PROXY_CA: Purpose = "proxy"
SERVICE_ACCOUNT: Purpose = "sa"
CONTROL_PLANE_PURPOSES: tuple[Purpose, ...] = (CLUSTER_CA, ETCD_CA, FRONT_PROXY_CA, SERVICE_ACCOUNT)

TLS_CRT = "tls.crt"
TLS_KEY = "tls.key"
DEFAULT_CERTIFICATES_DIR = "/etc/kubernetes/pki"
DEFAULT_CA_VALIDITY_DAYS = 3650
CLIENT_CERT_VALIDITY = datetime.timedelta(days=365)
CLOCK_SKEW = datetime.timedelta(minutes=5)  # certificates start a little in the past, for machines with late clocks

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CertificatesError(Exception):
    """A certificate Secret is missing or cannot be used (the message never contains key material)."""


@dataclass(frozen=True)
class KeyPair:
    """PEM-encoded certificate (or, for `sa`, public key) and private key."""

    cert: bytes
    key: bytes = field(repr=False)  # keep keys out of reprs, tracebacks and logs


def secret_name(cluster_name: str, purpose: str) -> str:
    """The Secret name Cluster API uses for one of a cluster's certificates or its kubeconfig."""
    return f"{cluster_name}-{purpose}"


# ----- keys and certificates -----

def new_private_key(algorithm: str | None = None) -> PrivateKey:
    """A private key for kubeadm's encryptionAlgorithm (RSA-2048 when not given)."""
    match algorithm or "RSA-2048":
        case "ECDSA-P256":
            return ec.generate_private_key(ec.SECP256R1())
        case "ECDSA-P384":
            return ec.generate_private_key(ec.SECP384R1())
        case "RSA-2048" | "RSA-3072" | "RSA-4096" as rsa_name:
            return rsa.generate_private_key(public_exponent=65537, key_size=int(rsa_name[4:]))
    raise CertificatesError(f"unsupported encryptionAlgorithm {algorithm!r}")


def encode_private_key(key: PrivateKey) -> bytes:
    """PEM in the traditional form Go's x509 writes (`RSA PRIVATE KEY` / `EC PRIVATE KEY`)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def encode_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_ca(common_name: str = "kubernetes", *, validity_days: int | None = None,
           algorithm: str | None = None) -> KeyPair:
    """A self-signed CA certificate and its key."""
    key = new_private_key(algorithm)
    now = _now()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + datetime.timedelta(days=validity_days or DEFAULT_CA_VALIDITY_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return KeyPair(encode_cert(cert), encode_private_key(key))


def new_service_account_keys(algorithm: str | None = None) -> KeyPair:
    """The service account signing key pair: `cert` holds the public key (PKIX `PUBLIC KEY` PEM)."""
    key = new_private_key(algorithm)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(public, encode_private_key(key))


def load_cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def load_private_key(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificatesError("unsupported private key type")
    return key


def new_client_cert(ca: KeyPair, common_name: str, organizations: tuple[str, ...] = (), *,
                    algorithm: str | None = None) -> KeyPair:
    """A client certificate (clientAuth) signed by `ca`, valid one year."""
    ca_cert, ca_key = load_cert(ca.cert), load_private_key(ca.key)
    key = new_private_key(algorithm)
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name(attributes)).issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + CLIENT_CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return KeyPair(encode_cert(cert), encode_private_key(key))


def ca_cert_hashes(cert_pem: bytes) -> list[str]:
    """kubeadm's discovery pins: `sha256:<hex>` of each certificate's DER SubjectPublicKeyInfo."""
    hashes_out = []
    for cert in x509.load_pem_x509_certificates(cert_pem):
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        hashes_out.append("sha256:" + hashlib.sha256(spki).hexdigest())
    return hashes_out


def generate(purpose: Purpose, *, validity_days: int | None = None, algorithm: str | None = None) -> KeyPair:
    """A new key pair for one of the cluster certificates."""
    if purpose == SERVICE_ACCOUNT:
        return new_service_account_keys(algorithm)
    return new_ca(validity_days=validity_days, algorithm=algorithm)


def key_algorithm(key: PrivateKey) -> str:
    """kubeadm's encryptionAlgorithm name for a key like `key` (to make more keys of the same kind)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ECDSA-P384" if key.curve.name == "secp384r1" else "ECDSA-P256"
    return f"RSA-{key.key_size}" if key.key_size in (2048, 3072, 4096) else "RSA-2048"


def load_key_pair(context: ssl.SSLContext, pair: KeyPair) -> None:
    """`context.load_cert_chain` from PEM in memory: Python's ssl reads only files, so the pair goes to a 0600 file
    in a 0700 directory that is removed at once. Raises ssl.SSLError for a pair that does not load."""
    with tempfile.TemporaryDirectory(prefix="herd-tls-") as directory:
        cert_path, key_path = Path(directory) / "tls.crt", Path(directory) / "tls.key"
        for path, data in ((cert_path, pair.cert), (key_path, pair.key)):
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
                file.write(data)
        context.load_cert_chain(cert_path, key_path)


# ----- as Secrets -----

def b64(data: bytes | str) -> str:
    """Secret `data` encoding."""
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def secret_data(secret: Object, key: str) -> bytes | None:
    """One decoded value of a Secret's `data`, or None."""
    value = (secret.get("data") or {}).get(key)
    return base64.b64decode(value) if value is not None else None


def cluster_secret(cluster: Object, name: str, data: dict[str, bytes | str], *, owner: Object | None = None) -> Object:
    """A `cluster.x-k8s.io/secret` Secret of the cluster, labelled with its name and owned by the Cluster, or
    controlled by `owner` (a control plane provider's object: the KubeadmControlPlane owns its cluster's
    certificates, so they go with it)."""
    meta = cluster["metadata"]
    reference = owner_reference(owner, controller=True) if owner is not None else owner_reference(cluster)
    return {
        "apiVersion": "v1", "kind": "Secret", "type": CLUSTER_SECRET_TYPE,
        "metadata": {"name": name, "namespace": meta["namespace"], "labels": {CLUSTER_NAME_LABEL: meta["name"]},
                     "ownerReferences": [reference]},
        "data": {key: b64(value) for key, value in data.items()},
    }


def keypair_from_secret(secret: Object) -> KeyPair:
    cert = secret_data(secret, TLS_CRT)
    if not cert:
        raise CertificatesError(f"secret {secret['metadata']['name']} has no {TLS_CRT}")
    return KeyPair(cert, secret_data(secret, TLS_KEY) or b"")


async def lookup(client: Client, cluster: Object, purposes: tuple[Purpose, ...]) -> dict[Purpose, KeyPair]:
    """The key pairs of the cluster's certificate Secrets that exist."""
    meta = cluster["metadata"]
    found: dict[Purpose, KeyPair] = {}
    for purpose in purposes:
        try:
            secret = await client.get(SECRET, secret_name(meta["name"], purpose), meta["namespace"])
        except NotFound:
            continue
        found[purpose] = keypair_from_secret(secret)
    return found


async def lookup_or_generate(client: Client, cluster: Object, *, validity_days: int | None = None,
                             algorithm: str | None = None, owner: Object | None = None) -> dict[Purpose, KeyPair]:
    """Every control plane certificate: the existing Secrets, and new ones created for those missing.

    Safe against a concurrent creator (another controller or replica): when a create finds the Secret
    already there, the stored one wins, so every machine gets the same CAs.
    """
    found = await lookup(client, cluster, CONTROL_PLANE_PURPOSES)
    meta = cluster["metadata"]
    for purpose in CONTROL_PLANE_PURPOSES:
        if purpose in found:
            continue
        pair = generate(purpose, validity_days=validity_days, algorithm=algorithm)
        name = secret_name(meta["name"], purpose)
        try:
            await client.create(cluster_secret(cluster, name, {TLS_CRT: pair.cert, TLS_KEY: pair.key}, owner=owner),
                                kind=SECRET)
            found[purpose] = pair
        except AlreadyExists:
            found[purpose] = keypair_from_secret(await client.get(SECRET, name, meta["namespace"]))
    return found


def ensure_all_exist(pairs: dict[Purpose, KeyPair], purposes: tuple[Purpose, ...], *, need_keys: bool) -> None:
    """Raise CertificatesError unless every purpose has a certificate (and a key, when `need_keys`)."""
    for purpose in purposes:
        pair = pairs.get(purpose)
        if pair is None:
            raise CertificatesError(f"missing certificate {purpose}")
        if need_keys and not pair.key:
            raise CertificatesError(f"missing key data for certificate {purpose}")

"""Cluster certificates, the admin kubeconfig and bootstrap tokens, without a server."""

from __future__ import annotations

import base64
import datetime
import hashlib
import shutil
import subprocess

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from herd.bootstrap.kubeadm import tokens
from herd.contract import certificates as certs
from herd.contract import kubeconfig


def public_der(key: certs.PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(("algorithm", "key_type"), [
    (None, rsa.RSAPrivateKey), ("RSA-2048", rsa.RSAPrivateKey), ("ECDSA-P256", ec.EllipticCurvePrivateKey),
])
def test_a_new_ca_is_a_self_signed_ca_whose_key_matches(algorithm: str | None, key_type: type) -> None:
    pair = certs.new_ca(algorithm=algorithm)
    cert = certs.load_cert(pair.cert)
    key = certs.load_private_key(pair.key)
    assert isinstance(key, key_type)
    if isinstance(key, rsa.RSAPrivateKey):
        assert key.key_size == 2048, "RSA-2048 like kubeadm unless asked otherwise"
        assert pair.key.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert public_der(key) == cert.public_key().public_bytes(serialization.Encoding.DER,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes"
    cert.verify_directly_issued_by(cert)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=3650) <= lifetime <= datetime.timedelta(days=3651), "10 years"


def test_the_ca_validity_follows_the_requested_days() -> None:
    cert = certs.load_cert(certs.new_ca(validity_days=30).cert)
    assert (cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)).days in (29, 30)


def test_service_account_keys_are_a_public_and_a_private_key_that_match() -> None:
    pair = certs.generate(certs.SERVICE_ACCOUNT)
    assert pair.cert.startswith(b"-----BEGIN PUBLIC KEY-----")
    public = serialization.load_pem_public_key(pair.cert)
    key = certs.load_private_key(pair.key)
    assert isinstance(key, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey)
    signature = key.sign(b"token", padding.PKCS1v15(), hashes.SHA256())
    public.verify(signature, b"token", padding.PKCS1v15(), hashes.SHA256())


def test_keys_stay_out_of_reprs() -> None:
    pair = certs.new_ca(algorithm="ECDSA-P256")
    assert pair.key.decode() not in repr(pair)


def test_ca_cert_hashes_are_the_sha256_of_the_spki_as_kubeadm_computes_them() -> None:
    pair = certs.new_ca()
    expected = "sha256:" + hashlib.sha256(public_der(certs.load_private_key(pair.key))).hexdigest()
    assert certs.ca_cert_hashes(pair.cert) == [expected]
    if shutil.which("openssl"):  # kubeadm's documented recipe, computed by another implementation
        pubkey = subprocess.run(["openssl", "x509", "-pubkey", "-noout"], input=pair.cert, capture_output=True,
                                check=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pubkey, capture_output=True,
                             check=True).stdout
        assert expected == "sha256:" + hashlib.sha256(der).hexdigest()


def test_the_admin_kubeconfig_has_a_client_cert_signed_by_the_cluster_ca() -> None:
    ca = certs.new_ca()
    text = kubeconfig.admin_kubeconfig("c1", kubeconfig.server_url("10.0.0.1", 6443), ca)
    config = yaml.safe_load(text)
    assert config["current-context"] == "c1-admin@c1"
    cluster = config["clusters"][0]
    assert cluster["name"] == "c1" and cluster["cluster"]["server"] == "https://10.0.0.1:6443"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == ca.cert
    user = config["users"][0]["user"]
    client_cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    client_key = certs.load_private_key(base64.b64decode(user["client-key-data"]))
    client_cert.verify_directly_issued_by(certs.load_cert(ca.cert))
    assert client_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes-admin"
    assert client_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    assert ExtendedKeyUsageOID.CLIENT_AUTH in client_cert.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    assert public_der(client_key) == client_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(("host", "port", "url"), [
    ("10.0.0.1", 6443, "https://10.0.0.1:6443"), ("api.example.com", 443, "https://api.example.com:443"),
    ("fd00::1", 6443, "https://[fd00::1]:6443"),
])
def test_server_url(host: str, port: int, url: str) -> None:
    assert kubeconfig.server_url(host, port) == url


def test_cluster_secrets_are_typed_labelled_and_owned_by_the_cluster() -> None:
    cluster = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
               "metadata": {"name": "c1", "namespace": "ns", "uid": "u-1"}}
    secret = certs.cluster_secret(cluster, "c1-ca", {"tls.crt": b"C", "tls.key": b"K"})
    assert secret["type"] == "cluster.x-k8s.io/secret"
    assert secret["metadata"]["labels"] == {"cluster.x-k8s.io/cluster-name": "c1"}
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert certs.secret_data(secret, "tls.key") == b"K"
    assert certs.keypair_from_secret(secret) == certs.KeyPair(b"C", b"K")


def test_bootstrap_tokens_have_kubeadms_form_and_secret() -> None:
    token = tokens.generate_token()
    assert tokens.TOKEN_PATTERN.match(token)
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    secret = tokens.token_secret(token, ttl=900, now=now)
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert secret["metadata"] == {"name": f"bootstrap-token-{token[:6]}", "namespace": "kube-system"}
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert data["token-id"] + "." + data["token-secret"] == token
    assert data["expiration"] == "2025-01-01T00:15:00Z"
    assert data["usage-bootstrap-authentication"] == data["usage-bootstrap-signing"] == "true"
    assert data["auth-extra-groups"] == "system:bootstrappers:kubeadm:default-node-token"


@pytest.mark.parametrize(("expires_in", "refresh"), [(900, False), (751, False), (749, True), (0, True), (-60, True)])
def test_a_token_is_refreshed_when_less_than_five_sixths_of_its_ttl_remain(expires_in: int, refresh: bool) -> None:
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    secret = tokens.token_secret(tokens.generate_token(), ttl=expires_in, now=now)
    assert tokens.needs_refresh(secret, ttl=900, now=now) is refresh


def test_malformed_tokens_are_refused() -> None:
    with pytest.raises(tokens.TokenError):
        tokens.token_id("not-a-token")

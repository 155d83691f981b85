"""The client certificate the etcd client presents: signed by the cluster's etcd CA, for client authentication only,
with a key of the CA's kind; and one clear error, without key material, when the CA cannot be used."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from herd.contract.certificates import KeyPair, load_key_pair, new_ca
from herd.controlplane.kubeadm.etcd import CLIENT_COMMON_NAME, EtcdError, etcd_client_tls
from herd.providers.dev.etcdsim import member_certificate


async def presented_certificate(ca: KeyPair, client_context: ssl.SSLContext) -> x509.Certificate:
    """The certificate a TLS client with `client_context` shows a server that asks for one."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=ca.cert.decode())
    server_context.verify_mode = ssl.CERT_REQUIRED
    load_key_pair(server_context, member_certificate(ca.cert, ca.key, "etcd-node"))
    seen: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def capture(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.set_result(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
        writer.close()

    server = await asyncio.start_server(capture, "127.0.0.1", 0, ssl=server_context)
    async with server:
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context)
        der = await asyncio.wait_for(seen, 5)
        writer.close()
    return x509.load_der_x509_certificate(der)


@pytest.mark.parametrize("algorithm", ["RSA-2048", "ECDSA-P256", "ECDSA-P384"])
async def test_the_client_certificate_is_signed_by_the_etcd_ca_with_a_key_like_its_own(algorithm: str) -> None:
    ca = new_ca("etcd-ca", algorithm=algorithm)
    certificate = await presented_certificate(ca, etcd_client_tls(ca.cert, ca.key))
    ca_certificate = x509.load_pem_x509_certificate(ca.cert)
    certificate.verify_directly_issued_by(ca_certificate)
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CLIENT_COMMON_NAME
    assert list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == \
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    key, ca_key = certificate.public_key(), ca_certificate.public_key()
    if isinstance(ca_key, rsa.RSAPublicKey):
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == ca_key.key_size
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey) and isinstance(ca_key, ec.EllipticCurvePublicKey)
        assert key.curve.name == ca_key.curve.name


def test_an_unusable_etcd_ca_is_one_error_without_key_material() -> None:
    ca, other = new_ca("etcd-ca", algorithm="ECDSA-P256"), new_ca("other", algorithm="ECDSA-P256")
    broken_key = b"-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END EC PRIVATE KEY-----\n"
    for cert, key in ((ca.cert, broken_key), (ca.cert, other.key), (b"not a certificate", ca.key)):
        with pytest.raises(EtcdError, match="etcd CA") as refused:
            etcd_client_tls(cert, key)
        assert "c2VjcmV0" not in str(refused.value) and "PRIVATE" not in str(refused.value)

"""Client certificates verified by the authenticator, not by the TLS handshake (as kube-apiserver does).

kube-apiserver asks every client for a certificate without requiring or verifying it in the handshake; its
x509 authenticator then checks the certificate against the client CAs. A foreign or expired certificate
therefore gets a 401 (and a valid bearer token sent alongside still authenticates), instead of a failed
handshake that clients such as kubectl retry for seconds.

Python's `ssl` either ignores client certificates (CERT_NONE: none is requested) or aborts the handshake
on one it cannot verify; it has no verify callback. `request_client_certificates` installs one through
OpenSSL itself that accepts any certificate, and returns the verifier the authenticator must then use:
with the callback installed, `getpeercert()` reports certificates nobody verified.
"""

from __future__ import annotations

import _ssl
import ctypes
import datetime as dt
import logging
import ssl
import weakref
from typing import Any

from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .auth import UserInfo

log = logging.getLogger(__name__)

_SSL_VERIFY_PEER = 1
_VerifyCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


def _accept(preverify_ok: int, store_ctx: int | None) -> int:
    return 1  # the authenticator verifies; the handshake must not fail on the client's certificate


_accept_any_certificate = _VerifyCallback(_accept)  # module-level: OpenSSL keeps calling it


_unverified_contexts: weakref.WeakSet[ssl.SSLContext] = weakref.WeakSet()


def handshake_accepts_unverified(context: ssl.SSLContext | None) -> bool:
    """Whether `context` lets unverified client certificates through (so `getpeercert()` is not proof)."""
    return context is not None and context in _unverified_contexts


def _install_accepting_callback(context: ssl.SSLContext) -> bool:
    try:
        libssl = ctypes.CDLL(_ssl.__file__)  # resolves OpenSSL's symbols through the module's own libssl
        # PySSLContext starts with the object header, then the SSL_CTX pointer
        ctx_ptr = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
        libssl.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
        libssl.SSL_CTX_get_verify_mode.restype = ctypes.c_int
        if ctx_ptr is None or libssl.SSL_CTX_get_verify_mode(ctx_ptr) != _SSL_VERIFY_PEER:
            return False  # not the layout expected: leave verification to the handshake
        libssl.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VerifyCallback]
        libssl.SSL_CTX_set_verify.restype = None
        libssl.SSL_CTX_set_verify(ctx_ptr, _SSL_VERIFY_PEER, _accept_any_certificate)
    except (OSError, AttributeError, ValueError):
        return False
    return True


def _check_client_usage(policy: Any, cert: x509.Certificate, usage: x509.ExtendedKeyUsage | None) -> None:
    # As Go's verifier in kube-apiserver: a certificate without the extension may be used for anything.
    allowed = {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    if usage is not None and not allowed & set(usage):
        raise ValueError("the certificate is not for client authentication")


class ClientCertificateVerifier:
    """Checks a client's certificate (DER) against the trusted client CAs; gives the user it names."""

    def __init__(self, ca_pems: list[bytes]) -> None:
        cas = [cert for pem in ca_pems for cert in x509.load_pem_x509_certificates(pem)]
        if not cas:
            raise ValueError("no client CA certificate given")
        self._store = verification.Store(cas)
        # The CAs are the operator's own choice (often made by tools that add few extensions): only
        # basicConstraints is insisted on, as Go's verifier does for a trust anchor's issued chain.
        self._ca_policy = verification.ExtensionPolicy.permit_all().require_present(
            x509.BasicConstraints, verification.Criticality.AGNOSTIC, None)
        self._leaf_policy = verification.ExtensionPolicy.permit_all().may_be_present(
            x509.ExtendedKeyUsage, verification.Criticality.AGNOSTIC, _check_client_usage)

    def user(self, der: bytes) -> UserInfo | None:
        """The certificate's user (CN, groups from O), or None if it is unverified or names nobody."""
        try:
            cert = x509.load_der_x509_certificate(der)
            verifier = (verification.PolicyBuilder().store(self._store).time(dt.datetime.now(dt.UTC))
                        .extension_policies(ca_policy=self._ca_policy,
                                            ee_policy=self._leaf_policy)
                        .build_client_verifier())
            verifier.verify(cert, [])
        except (ValueError, verification.VerificationError) as exc:
            log.debug("client certificate refused: %s", exc)
            return None
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        groups = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if len(names) != 1 or not names[0]:
            return None  # kube-apiserver likewise refuses a certificate without one CN
        return UserInfo(str(names[0]), "", tuple(dict.fromkeys(str(g) for g in groups)))


def request_client_certificates(context: ssl.SSLContext, ca_pems: list[bytes]) -> ClientCertificateVerifier:
    """Ask clients for a certificate without failing the handshake on one that does not verify.

    The context keeps the CA list it was given (clients use it to choose a certificate). The returned
    verifier must authenticate every certificate the context lets through.
    """
    verifier = ClientCertificateVerifier(ca_pems)
    context.verify_mode = ssl.CERT_OPTIONAL
    if _install_accepting_callback(context):
        _unverified_contexts.add(context)
    else:
        log.warning("client certificates are verified in the TLS handshake: a foreign certificate drops the "
                    "connection instead of answering 401")
    return verifier

"""kubeconfig files for the embedded API server, readable by kubectl and the official Python client.

Credentials are inlined (`*-data` fields, base64) rather than referenced by path, so a kubeconfig is a single
self-contained file that still works when copied elsewhere. Such a file is a secret: it is only ever written
with mode 0600, atomically.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from herd.apiserver.pki import ensure_private_dir, write_file_atomic


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_kubeconfig(
    *,
    server: str,
    ca_pem: bytes,
    cluster_name: str,
    user_name: str,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
    token: str | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """Build a kubeconfig with one cluster, one user and one context, which is also the current context.

    The context is named `<user_name>@<cluster_name>`. Client certificate and key must come together; a
    token may be given alongside them (client-go sends both; the API server tries the certificate first).
    """
    parts = urlsplit(server)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        # The URL carries no secret, but keep the message generic anyway: it may be user-supplied garbage.
        raise ValueError("server must be an http(s) URL with a host")
    if not cluster_name or not user_name:
        raise ValueError("cluster_name and user_name must not be empty")
    if (client_cert_pem is None) != (client_key_pem is None):
        raise ValueError("client_cert_pem and client_key_pem must be given together")
    if b"-----BEGIN CERTIFICATE-----" not in ca_pem:
        raise ValueError("ca_pem is not a PEM certificate")

    user: dict[str, str] = {}
    if client_cert_pem is not None and client_key_pem is not None:
        user["client-certificate-data"] = _b64(client_cert_pem)
        user["client-key-data"] = _b64(client_key_pem)
    if token is not None:
        if not token or any(c.isspace() for c in token):
            raise ValueError("token must be non-empty and contain no whitespace")
        user["token"] = token

    context_name = f"{user_name}@{cluster_name}"
    context: dict[str, str] = {"cluster": cluster_name, "user": user_name}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}
        ],
        "users": [{"name": user_name, "user": user}],
        "contexts": [{"name": context_name, "context": context}],
        "current-context": context_name,
        "preferences": {},
    }


def dump_kubeconfig(config: dict[str, Any]) -> str:
    """Serialize a kubeconfig to YAML (block style, keys in the order kubectl itself writes them)."""
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)


def write_kubeconfig(path: Path, config: dict[str, Any]) -> None:
    """Write `config` as YAML to `path`: mode 0600 from creation, atomically replacing any existing file.

    Missing parent directories are created with mode 0700 (like ~/.kube).
    """
    ensure_private_dir(path.parent)
    write_file_atomic(path, dump_kubeconfig(config).encode("utf-8"), mode=0o600)

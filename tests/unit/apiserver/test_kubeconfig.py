"""kubeconfig building and writing, and proof that kubectl and the Python client accept our PKI."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from herd.apiserver.auth import Authenticator, TokenFile, UserInfo
from herd.apiserver.kubeconfig import build_kubeconfig, write_kubeconfig
from herd.apiserver.pki import ServerPKI, ensure_server_pki, server_ssl_context

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
CERT_PEM = b"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"
KEY_PEM = b"-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"
TOKEN = "abcdef.0123456789abcdef"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)



def admin_config(**extra: Any) -> dict[str, Any]:
    return build_kubeconfig(server="https://127.0.0.1:6443", ca_pem=CA_PEM, cluster_name="herd", user_name="admin",
                            client_cert_pem=CERT_PEM, client_key_pem=KEY_PEM, **extra)


def test_build_kubeconfig_with_client_certificate() -> None:
    config = admin_config(namespace="kube-system")
    assert config["apiVersion"] == "v1" and config["kind"] == "Config"
    assert config["current-context"] == "admin@herd"
    (cluster,) = config["clusters"]
    assert cluster["name"] == "herd" and cluster["cluster"]["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == CA_PEM
    (user,) = config["users"]
    assert user["name"] == "admin"
    assert base64.b64decode(user["user"]["client-certificate-data"]) == CERT_PEM
    assert base64.b64decode(user["user"]["client-key-data"]) == KEY_PEM
    assert "token" not in user["user"]
    assert config["contexts"] == [
        {"name": "admin@herd", "context": {"cluster": "herd", "user": "admin", "namespace": "kube-system"}}
    ]


def test_build_kubeconfig_with_token() -> None:
    config = build_kubeconfig(
        server="https://h:1", ca_pem=CA_PEM, cluster_name="c", user_name="u", token=TOKEN
    )
    assert config["users"] == [{"name": "u", "user": {"token": TOKEN}}]
    assert config["contexts"][0]["context"] == {"cluster": "c", "user": "u"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"server": "127.0.0.1:6443"},
        {"server": "ftp://h"},
        {"cluster_name": ""},
        {"client_cert_pem": CERT_PEM},
        {"client_key_pem": KEY_PEM},
        {"ca_pem": b"not a cert"},
        {"token": "two words"},
        {"token": ""},
    ],
)
def test_build_kubeconfig_rejects_bad_input(overrides: dict[str, Any]) -> None:
    args: dict[str, Any] = {"server": "https://h:1", "ca_pem": CA_PEM, "cluster_name": "c", "user_name": "u"}
    with pytest.raises(ValueError) as info:
        build_kubeconfig(**(args | overrides))
    assert "PRIVATE" not in str(info.value)


def test_write_kubeconfig_round_trip(tmp_path: Path, permissive_umask: None) -> None:
    config = admin_config()
    path = tmp_path / "new-dir" / "nested" / "config"
    write_kubeconfig(path, config)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700
    loaded = yaml.safe_load(path.read_text())
    assert loaded == config
    user = loaded["users"][0]["user"]
    assert base64.b64decode(user["client-key-data"]) == KEY_PEM
    assert base64.b64decode(user["client-certificate-data"]) == CERT_PEM
    assert base64.b64decode(loaded["clusters"][0]["cluster"]["certificate-authority-data"]) == CA_PEM


def test_write_kubeconfig_replaces_loose_file_and_follows_symlink(
    tmp_path: Path, permissive_umask: None
) -> None:
    real = tmp_path / "real-config"
    real.write_text("old")
    os.chmod(real, 0o644)
    link = tmp_path / "config"
    link.symlink_to(real)
    config = build_kubeconfig(
        server="https://h:1", ca_pem=CA_PEM, cluster_name="c", user_name="u", token=TOKEN
    )
    write_kubeconfig(link, config)
    assert link.is_symlink()
    assert _mode(real) == 0o600
    assert yaml.safe_load(real.read_text()) == config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "real-config"]  # no temp files left


# --- real clients against a TLS aiohttp server using our PKI and Authenticator --------------------------


@pytest.fixture
def pki(tmp_path: Path) -> ServerPKI:
    return ensure_server_pki(tmp_path / "data", [])


@pytest.fixture
async def whoami_server(pki: ServerPKI) -> AsyncIterator[str]:
    """Serves /version (what both clients can fetch raw) with the authenticated user added; 401 otherwise."""
    authenticator = Authenticator(TokenFile({TOKEN: UserInfo("alice", "uid-1", ("dev",))}))

    async def version(request: web.Request) -> web.Response:
        assert request.transport is not None
        user = await authenticator.authenticate(
            request.transport.get_extra_info("peercert"), request.headers.get("Authorization")
        )
        if user is None:
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "Unauthorized",
                "code": 401,
                "message": "Unauthorized",
                "metadata": {},
            }
            return web.json_response(status, status=401)
        return web.json_response(
            {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0",
                "user": user.name,
                "groups": list(user.groups),
            }
        )

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/version/", version)  # the Python client asks with a trailing slash
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(pki))
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _admin_kubeconfig(pki: ServerPKI, server: str, path: Path) -> Path:
    config = build_kubeconfig(
        server=server,
        ca_pem=pki.ca_cert.read_bytes(),
        cluster_name="herd",
        user_name="admin",
        client_cert_pem=pki.admin_cert.read_bytes(),
        client_key_pem=pki.admin_key.read_bytes(),
    )
    write_kubeconfig(path, config)
    return path


def _token_kubeconfig(pki: ServerPKI, server: str, path: Path, token: str) -> Path:
    config = build_kubeconfig(
        server=server, ca_pem=pki.ca_cert.read_bytes(), cluster_name="herd", user_name="alice", token=token
    )
    write_kubeconfig(path, config)
    return path


async def _kubectl(kubeconfig: Path, home: Path) -> tuple[int, str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed")
    proc = await asyncio.create_subprocess_exec(
        kubectl,
        "--kubeconfig",
        str(kubeconfig),
        "--request-timeout",
        "10s",
        "get",
        "--raw",
        "/version",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home)},  # keep kubectl's cache out of $HOME
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, (out if proc.returncode == 0 else err).decode()


async def test_kubectl_with_admin_certificate(pki: ServerPKI, whoami_server: str, tmp_path: Path) -> None:
    code, out = await _kubectl(_admin_kubeconfig(pki, whoami_server, tmp_path / "admin.conf"), tmp_path)
    assert code == 0, out
    body = json.loads(out)
    assert body["user"] == "admin"
    assert body["groups"] == ["system:masters", "system:authenticated"]


async def test_kubectl_with_token(pki: ServerPKI, whoami_server: str, tmp_path: Path) -> None:
    code, out = await _kubectl(_token_kubeconfig(pki, whoami_server, tmp_path / "t.conf", TOKEN), tmp_path)
    assert code == 0, out
    assert json.loads(out)["user"] == "alice"
    code, out = await _kubectl(
        _token_kubeconfig(pki, whoami_server, tmp_path / "bad.conf", "wrong"), tmp_path
    )
    assert code != 0 and "Unauthorized" in out


def _python_client_get_version(kubeconfig: Path) -> Any:
    kubernetes = pytest.importorskip("kubernetes")
    api_client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    try:
        # Raw body: the typed VersionInfo model would drop the extra `user`/`groups` fields.
        response = kubernetes.client.VersionApi(api_client).get_code(
            _preload_content=False, _request_timeout=10
        )
        return json.loads(response.data)
    finally:
        api_client.close()


async def test_python_client_with_admin_certificate(
    pki: ServerPKI, whoami_server: str, tmp_path: Path
) -> None:
    path = _admin_kubeconfig(pki, whoami_server, tmp_path / "admin.conf")
    body = await asyncio.to_thread(_python_client_get_version, path)
    assert body["user"] == "admin"
    assert "system:masters" in body["groups"]


async def test_python_client_with_token(pki: ServerPKI, whoami_server: str, tmp_path: Path) -> None:
    path = _token_kubeconfig(pki, whoami_server, tmp_path / "t.conf", TOKEN)
    body = await asyncio.to_thread(_python_client_get_version, path)
    assert body["user"] == "alice"

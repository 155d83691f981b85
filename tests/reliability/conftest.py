"""An in-process API server over TLS, run on its own thread so plain blocking clients can probe it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from herd.apiserver.auth import Authenticator, TokenFile, UserInfo
from herd.apiserver.pki import ensure_server_pki, server_ssl_context
from herd.apiserver.server import APIServer
from herd.apiserver.storage import SqliteBackend, Store

TOKEN = "reliability-requests-token"


@dataclass
class ThreadedServer:
    """A started `APIServer`, its data file and a session that talks to it as an administrator."""

    server: APIServer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    state_db: Path
    ca_cert: Path
    session: requests.Session
    token: str = TOKEN

    @property
    def url(self) -> str:
        return self.server.url

    def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
                data: bytes | str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Content-Type": content_type}
        # verify per request: a session's own setting loses to REQUESTS_CA_BUNDLE from the environment
        return self.session.request(method, self.url + path, json=body if data is None else None,
                                    data=data, headers=headers, timeout=30, verify=str(self.ca_cert), **kwargs)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.session.close()


def start_threaded_server(directory: Path) -> ThreadedServer:
    pki = ensure_server_pki(directory / "pki", ["127.0.0.1"])
    state_db = directory / "state.db"
    tokens = TokenFile({TOKEN: UserInfo("admin", "", ("system:masters",))})
    server = APIServer(Store(SqliteBackend(state_db)), ssl_context=server_ssl_context(pki),
                       authenticator=Authenticator(tokens))
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="apiserver", daemon=True)
    thread.start()
    assert started.wait(timeout=60), "the API server did not start"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    return ThreadedServer(server, loop, thread, state_db, pki.ca_cert, session)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    served = start_threaded_server(tmp_path_factory.mktemp("apiserver"))
    yield served
    served.stop()

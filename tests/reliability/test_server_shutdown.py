"""A watch that arrives while the server stops (its store already closing) gets a 503 Status, not a 500 with a
traceback in the log: informers reconnect at that moment, and `herd up` stopping must stay quiet."""

from __future__ import annotations

import logging

import pytest
from support.inprocess import admin_session, running_server


async def test_a_watch_during_shutdown_is_answered_503(caplog: pytest.LogCaptureFixture) -> None:
    async with running_server() as server, admin_session(server) as http:
        await server.store.close()  # what stopping does first, while connections are still served
        with caplog.at_level(logging.DEBUG, logger="herd.apiserver"):
            async with http.get("/api/v1/namespaces/default/configmaps?watch=true") as response:
                status = await response.json()
    assert response.status == 503
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "ServiceUnavailable", 503)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "no error in the log"

"""The transport asks lightkube's auth for its Authorization header, and again after a 401."""

from __future__ import annotations

from pathlib import Path

from lightkube.config.client_adapter import BearerAuth, BearerTokenFileAuth

from herd.runtime.transport import _Credentials

SERVER = "https://127.0.0.1:6443"


async def test_a_fixed_token_is_sent_and_a_401_has_nothing_else_to_try() -> None:
    credentials = _Credentials(BearerAuth("abc"), SERVER)
    assert await credentials.header() == "Bearer abc"
    assert await credentials.refresh("Bearer abc") is False
    assert await credentials.header() == "Bearer abc"


async def test_a_rotated_token_file_is_read_again_after_a_401(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    credentials = _Credentials(BearerTokenFileAuth(str(token)), SERVER)
    assert await credentials.header() == "Bearer first"
    token.write_text("second\n")
    assert await credentials.header() == "Bearer first", "read once, not per request"
    assert await credentials.refresh("Bearer first") is True
    assert await credentials.header() == "Bearer second"
    # a second request rejected with the old header finds the refresh done already
    assert await credentials.refresh("Bearer first") is True
    assert await credentials.header() == "Bearer second"


async def test_no_user_credentials_send_no_header() -> None:
    credentials = _Credentials(None, SERVER)
    assert await credentials.header() is None
    assert await credentials.refresh(None) is False

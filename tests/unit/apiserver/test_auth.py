"""Token files, bearer-token parsing and the Authenticator's order of precedence."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from herd.apiserver.auth import (
    Authenticator,
    TokenFile,
    UserInfo,
    parse_bearer_token,
    user_from_peercert,
)

SECRET = "s3cr3t-t0ken-value"

TOKENS = f"""\
# static tokens
{SECRET},alice,uid-1,"dev,ops"

bob-token, bob , uid-2
  # indented comment
carol-token,carol,,"  qa , "
dave-token,dave,uid-4,
"""

ADMIN_PEERCERT: dict[str, Any] = {
    "subject": ((("organizationName", "system:masters"),), (("commonName", "admin"),)),
    "issuer": ((("commonName", "herd-ca"),),),
}


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "tokens.csv"
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


def test_token_file_parsing(tmp_path: Path) -> None:
    tokens = TokenFile.load(_write(tmp_path, TOKENS))
    assert len(tokens) == 4
    assert tokens.lookup(SECRET) == UserInfo("alice", "uid-1", ("dev", "ops"))
    assert tokens.lookup("bob-token") == UserInfo("bob", "uid-2", ())
    assert tokens.lookup("carol-token") == UserInfo("carol", "", ("qa",))
    assert tokens.lookup("dave-token") == UserInfo("dave", "uid-4", ())
    assert tokens.lookup("nope") is None
    assert tokens.lookup("") is None
    assert tokens.lookup(SECRET + "x") is None
    assert SECRET not in repr(tokens)


def test_token_file_tolerates_bom_and_crlf(tmp_path: Path) -> None:
    tokens = TokenFile.load(_write(tmp_path, f"\ufeff{SECRET},alice,1\r\nt2,bob,2\r\n".encode()))
    assert tokens.lookup(SECRET) == UserInfo("alice", "1")
    assert tokens.lookup("t2") == UserInfo("bob", "2")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (f"ok,u,1\n{SECRET},alice\n", 2, "expected 3 or 4 columns"),
        (f"# c\n\n{SECRET},alice,1,g,extra\n", 3, "expected 3 or 4 columns"),
        (f'{SECRET},alice,1,"dev\n', 1, "malformed CSV"),
        (f'{SECRET},"al"ice,1\n', 1, "malformed CSV"),
        (",alice,1\n", 1, "empty token"),
        (f"{SECRET},,1\n", 1, "empty user name"),
        (f"{SECRET},alice,1\nx,y,2\n{SECRET},bob,3\n", 3, r"duplicate token \(first on line 1\)"),
    ],
)
def test_token_file_errors_name_the_line_not_the_token(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    with pytest.raises(ValueError, match=f"line {line}: {reason}") as info:
        TokenFile.load(_write(tmp_path, text))
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_token_file_invalid_utf8(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line 2: not valid UTF-8") as info:
        TokenFile.load(_write(tmp_path, b"a,b,c\n\xffsecret,alice,1\n"))
    assert "secret" not in str(info.value) and "xff" not in str(info.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Bearer {SECRET}", SECRET),
        (f"bearer {SECRET}", SECRET),
        (f"  Bearer   {SECRET}  ", SECRET),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer ", None),
        (f"Basic {SECRET}", None),
        (f"Bearer {SECRET} extra", None),
        (f"Bearer{SECRET}", None),
        ("Bearer a\x00b", None),
    ],
)
def test_parse_bearer_token(header: str | None, expected: str | None) -> None:
    assert parse_bearer_token(header) == expected


def test_user_from_peercert() -> None:
    assert user_from_peercert(ADMIN_PEERCERT) == UserInfo("admin", "", ("system:masters",))
    multi_valued_rdn = {"subject": ((("commonName", "x"), ("organizationName", "g")),)}
    assert user_from_peercert(multi_valued_rdn) == UserInfo("x", "", ("g",))
    assert user_from_peercert({"subject": ((("organizationName", "g"),),)}) is None  # no CN
    assert user_from_peercert({"subject": ((("commonName", ""),),)}) is None
    assert user_from_peercert({"subject": ((("commonName", "a"),), (("commonName", "b"),))}) is None
    assert user_from_peercert({}) is None


@pytest.fixture
def token_file() -> TokenFile:
    return TokenFile({SECRET: UserInfo("alice", "uid-1", ("dev",))})


async def test_certificate_user(token_file: TokenFile) -> None:
    user = await Authenticator(token_file).authenticate(ADMIN_PEERCERT, None)
    assert user == UserInfo("admin", "", ("system:masters", "system:authenticated"))


async def test_certificate_wins_over_token(token_file: TokenFile) -> None:
    user = await Authenticator(token_file).authenticate(ADMIN_PEERCERT, f"Bearer {SECRET}")
    assert user is not None and user.name == "admin"


async def test_token_user(token_file: TokenFile) -> None:
    auth = Authenticator(token_file)
    assert await auth.authenticate(None, f"Bearer {SECRET}") == UserInfo(
        "alice", "uid-1", ("dev", "system:authenticated")
    )
    # An empty peercert (no client certificate) or one without a CN falls through to the token.
    assert (await auth.authenticate({}, f"Bearer {SECRET}")) is not None
    no_cn = {"subject": ((("organizationName", "system:masters"),),)}
    user = await auth.authenticate(no_cn, f"Bearer {SECRET}")
    assert user is not None and user.name == "alice"


async def test_unauthenticated(token_file: TokenFile) -> None:
    auth = Authenticator(token_file)
    assert await auth.authenticate(None, None) is None
    assert await auth.authenticate(None, "Bearer wrong") is None
    assert await auth.authenticate(None, f"Basic {SECRET}") is None
    assert await auth.authenticate(None, f"Bearer {SECRET} trailing") is None
    assert await Authenticator().authenticate(None, f"Bearer {SECRET}") is None


async def test_extra_lookups_in_order(token_file: TokenFile) -> None:
    calls: list[str] = []

    async def first(token: str) -> UserInfo | None:
        calls.append("first")
        return None

    async def second(token: str) -> UserInfo | None:
        calls.append("second")
        return UserInfo("system:bootstrap:abc", "", ("system:bootstrappers", "system:authenticated"))

    async def third(token: str) -> UserInfo | None:
        calls.append("third")
        return None

    auth = Authenticator(token_file, [first, second])
    auth.add_token_lookup(third)
    user = await auth.authenticate(None, "Bearer abc.def")
    assert user == UserInfo("system:bootstrap:abc", "", ("system:bootstrappers", "system:authenticated"))
    assert calls == ["first", "second"]
    calls.clear()
    # A token-file hit never reaches the extra lookups.
    assert (await auth.authenticate(None, f"Bearer {SECRET}")) is not None
    assert calls == []


async def test_failing_lookup_is_skipped_and_logged_without_token(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(token: str) -> UserInfo | None:
        raise RuntimeError(f"backend down while checking {token}")

    async def working(token: str) -> UserInfo | None:
        return UserInfo("bob") if token == SECRET else None

    auth = Authenticator(extra_token_lookups=[broken, working])
    with caplog.at_level(logging.DEBUG):
        user = await auth.authenticate(None, f"Bearer {SECRET}")
        assert user == UserInfo("bob", "", ("system:authenticated",))
        assert (
            await Authenticator(extra_token_lookups=[broken]).authenticate(None, f"Bearer {SECRET}") is None
        )
    assert "RuntimeError" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(auth)


def test_user_info_with_groups() -> None:
    user = UserInfo("u", "1", ("a", "b"))
    assert user.with_groups("b", "c") == UserInfo("u", "1", ("a", "b", "c"))

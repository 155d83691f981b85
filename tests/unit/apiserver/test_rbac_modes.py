"""`--authorization-mode`: RBAC by default, AlwaysAllow on request, for `herd serve` and `herd up` alike, and carried
to the API server child `herd up` starts; anything else is refused by the parser."""

from __future__ import annotations

import pytest

from herd.apiserver.auth import UserInfo
from herd.apiserver.authz.authorizer import AlwaysAllow, RBACAuthorizer, new_authorizer
from herd.apiserver.authz.rules import Attributes
from herd.apiserver.storage import MemoryBackend, Store
from herd.cli.apiserver_process import serve_arguments
from herd.cli.main import build_parser
from herd.cli.serve import ServeOptions


@pytest.mark.parametrize("command", ["serve", "up"])
def test_rbac_is_the_default_and_always_allow_can_be_asked_for(command: str) -> None:
    assert ServeOptions.from_args(build_parser().parse_args([command])).authorization_mode == "RBAC"
    options = ServeOptions.from_args(build_parser().parse_args([command, "--authorization-mode", "AlwaysAllow"]))
    assert options.authorization_mode == "AlwaysAllow"
    argv = serve_arguments(options)
    assert argv[argv.index("--authorization-mode") + 1] == "AlwaysAllow"


def test_an_unknown_mode_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--authorization-mode", "Node"])
    assert "invalid choice: 'Node'" in capsys.readouterr().err


def test_the_modes_decide_as_named() -> None:
    store = Store(MemoryBackend())
    nobody = UserInfo("nobody", "", ("system:authenticated",))
    delete = Attributes("delete", True, "", "secrets", "", "kube-system", "x")
    assert isinstance(new_authorizer("RBAC", store), RBACAuthorizer)
    always = new_authorizer("AlwaysAllow", store)
    assert isinstance(always, AlwaysAllow) and always.authorize(nobody, delete)
    assert not new_authorizer("RBAC", store).authorize(nobody, delete)  # an empty store grants nothing
    assert new_authorizer("RBAC", store).authorize(UserInfo("root", "", ("system:masters",)), delete)

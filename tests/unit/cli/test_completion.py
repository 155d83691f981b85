"""`herd completion bash|zsh`: the scripts are valid shell and complete what herd's parser accepts."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from herd.cli.completion import bash_script, zsh_script
from herd.cli.main import build_parser


def herd_completion(shell: str) -> str:
    result = subprocess.run([sys.executable, "-m", "herd.cli.main", "completion", shell], capture_output=True,
                            text=True, timeout=60, check=True)
    return result.stdout


@pytest.fixture(scope="module")
def bash_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "herd.bash"
    path.write_text(herd_completion("bash"))
    return path


def test_the_bash_script_passes_bash_n(bash_file: Path) -> None:
    checked = subprocess.run(["bash", "-n", str(bash_file)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_passes_zsh_n(tmp_path: Path) -> None:
    path = tmp_path / "_herd"
    path.write_text(herd_completion("zsh"))
    checked = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


def complete(bash_file: Path, *words: str) -> list[str]:
    """What bash offers after `words` (the last one is the word being completed)."""
    script = (f"source {bash_file}\nCOMP_WORDS=({' '.join(repr(word) for word in words)})\n"
              "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_herd\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True)
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize(("words", "offered"), [
    (("herd", "st"), ["status"]),
    (("herd", "ver"), ["version"]),
    (("herd", "completion", ""), ["-h", "--help", "bash", "zsh"]),
    (("herd", "up", "--log-format", ""), ["text", "json"]),
    (("herd", "up", "--ve"), ["--verbose"]),
    (("herd", "get", ""), ["kubeconfig", "clusters", "-h", "--help"]),
    (("herd", "get", "kubeconfig", "--o"), ["--output"]),
    (("herd", "up", "--data-dir", ""), []),  # a path: the shell's own file name completion
    (("herd", "status", "--data-dir", "/tmp", "--"), ["--help", "--data-dir"]),
], ids=lambda value: " ".join(value) if isinstance(value, tuple) else None)
def test_bash_completes_commands_options_and_choices(bash_file: Path, words: tuple[str, ...],
                                                     offered: list[str]) -> None:
    assert complete(bash_file, *words) == offered


def test_every_command_of_the_parser_is_offered(bash_file: Path) -> None:
    commands = next(action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction))
    assert set(complete(bash_file, "herd", "")) == {*commands.choices, "-h", "--help"}


def test_a_name_the_generator_cannot_quote_is_refused() -> None:
    parser = argparse.ArgumentParser(prog="herd")
    parser.add_argument("--mode", choices=["it's"])
    for script in (bash_script, zsh_script):
        with pytest.raises(ValueError, match="cannot complete"):
            script(parser)


def test_an_unknown_shell_is_one_line_from_argparse() -> None:
    result = subprocess.run([sys.executable, "-m", "herd.cli.main", "completion", "fish"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice: 'fish'" in result.stderr and "Traceback" not in result.stderr

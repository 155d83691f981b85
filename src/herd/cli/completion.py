"""`herd completion bash|zsh`: a shell completion script generated from herd's own argparse parser.

Written here rather than taken from shtab or argcomplete: herd's command line is small (commands, their
subcommands, options, choices), a walk over the parser covers it in a page, and the package keeps one dependency
fewer. The script completes command and subcommand names, options, and the choices of options and arguments;
for any other value it leaves the shell to its default (file names).
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

SHELLS = ("bash", "zsh")
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$|^--?[A-Za-z0-9][A-Za-z0-9_-]*$")  # safe inside "…" in case


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "completion", help="print a shell completion script (bash or zsh)",
        epilog="example: source <(herd completion bash)  "
               "(or save it as ~/.local/share/bash-completion/completions/herd)")
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    parser.set_defaults(run=run)


@dataclass
class Command:
    """One command (`herd`, `herd get`, `herd get kubeconfig`, …) as the completion script sees it."""

    path: str
    subcommands: dict[str, str] = field(default_factory=dict)  # name → help
    words: dict[str, str] = field(default_factory=dict)  # options and positional choices → help
    values: dict[str, list[str]] = field(default_factory=dict)  # option that takes a value → its choices


def commands_of(parser: argparse.ArgumentParser, path: str = "herd") -> Iterator[Command]:
    """`parser` and every subparser under it, depth first."""
    command, children = Command(path), []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                command.subcommands[name] = helps.get(name, "")
                children.append((name, subparser))
        elif action.help == argparse.SUPPRESS:
            continue
        elif action.option_strings:
            for flag in action.option_strings:
                command.words[flag] = action.help or ""
                if action.nargs != 0:
                    command.values[flag] = [str(choice) for choice in action.choices or ()]
        elif action.choices:
            command.words.update({str(choice): action.help or "" for choice in action.choices})
    yield command
    for name, subparser in children:
        yield from commands_of(subparser, f"{path} {name}")


def _checked(word: str) -> str:
    if not _WORD.match(word):  # a name with quotes or blanks would need escaping the generator does not do
        raise ValueError(f"cannot complete {word!r}")
    return word


def _alternatives(patterns: list[str], separator: str = "|") -> str:
    return separator.join(f'"{pattern}"' for pattern in patterns)


def _case_arms(commands: list[Command], arm: Callable[[Command], str], *, zsh: bool) -> list[str]:
    opening = "(" if zsh else ""
    return [f'        {opening}"{command.path}") {arm(command)} ;;' for command in commands]


def _value_arms(commands: list[Command], choices_reply: Callable[[list[str]], str], *, zsh: bool,
                free: str) -> list[str]:
    """`case "$command $prev"`: the value an option needs — its choices, else the shell's default."""
    opening = "(" if zsh else ""
    with_choices: dict[str, list[str]] = {}
    free_values: list[str] = []
    for command in commands:
        for flag, choices in command.values.items():
            key = f"{command.path} {_checked(flag)}"
            if choices:
                with_choices[key] = [_checked(choice) for choice in choices]
            else:
                free_values.append(key)
    arms = [f'        {opening}"{key}") {choices_reply(choices)}; return ;;' for key, choices in with_choices.items()]
    if free_values:
        arms.append(f"        {opening}{_alternatives(free_values)}) {free}; return ;;")
    return arms


def _walk_words(commands: list[Command], index: str, word: str, *, zsh: bool) -> list[str]:
    """The loop that finds which command the words typed so far name."""
    paths = [f"{command.path} {_checked(name)}" for command in commands for name in command.subcommands]
    opening = "(" if zsh else ""
    return [f"    for ((i = {index}; i < {'CURRENT' if zsh else 'COMP_CWORD'}; i++)); do",
            f'        case "$command {word}" in',
            f'            {opening}{_alternatives(paths)}) command="$command {word}" ;;',
            "        esac",
            "    done"]


def bash_script(parser: argparse.ArgumentParser) -> str:
    commands = list(commands_of(parser))

    def words(command: Command) -> str:
        listed = " ".join(_checked(word) for word in [*command.subcommands, *command.words])
        return f'COMPREPLY=($(compgen -W {shlex.quote(listed)} -- "$cur"))'

    return "\n".join([
        "# bash completion for herd, generated by `herd completion bash` from herd's command-line parser",
        "_herd() {",
        '    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} command=herd i',
        *_walk_words(commands, "1", "${COMP_WORDS[i]}", zsh=False),
        '    case "$command $prev" in',
        *_value_arms(commands, lambda choices: f'COMPREPLY=($(compgen -W "{" ".join(choices)}" -- "$cur"))',
                     zsh=False, free="COMPREPLY=()"),
        "    esac",
        '    case "$command" in',
        *_case_arms(commands, words, zsh=False),
        "    esac",
        "}",
        "complete -o default -F _herd herd",
        ""])


def _described(entries: dict[str, str]) -> str:
    """zsh `_describe` items, `name:help`, each quoted for the shell."""
    return " ".join(shlex.quote(f"{_checked(name)}:{' '.join(text.replace(':', ' -').split())}")
                    for name, text in entries.items())


def zsh_script(parser: argparse.ArgumentParser) -> str:
    commands = list(commands_of(parser))

    def words(command: Command) -> str:
        listed = [f"local -a subcommands=({_described(command.subcommands)}) options=({_described(command.words)})"]
        if command.subcommands:
            listed.append("_describe -t commands command subcommands")
        listed.append("_describe -t options option options")
        return "; ".join(listed)

    return "\n".join([
        "#compdef herd",
        "# zsh completion for herd, generated by `herd completion zsh` from herd's command-line parser",
        "_herd() {",
        "    local command=herd i",
        *_walk_words(commands, "2", "${words[i]}", zsh=True),
        '    case "$command ${words[CURRENT-1]}" in',
        *_value_arms(commands, lambda choices: f"compadd -- {' '.join(choices)}", zsh=True, free="_default"),
        "    esac",
        '    case "$command" in',
        *_case_arms(commands, words, zsh=True),
        "    esac",
        "}",
        # loaded from $fpath by compinit, the file is the function's body; sourced, it registers the function
        'if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then _herd "$@"; else compdef _herd herd; fi',
        ""])


def run(args: argparse.Namespace) -> int:
    from .main import build_parser  # the whole command line, as main builds it

    script = bash_script if args.shell == "bash" else zsh_script
    print(script(build_parser()), end="", flush=True)
    return 0

"""Go `text/template` as ClusterClass patches and naming templates use it: `{{ .var.field }}`, pipelines
(`{{ .v | replace "+" "_" }}`), parentheses, `if`/`else if`/`else`/`end`, `with`, `range`, trim markers
(`{{-`, `-}}`), `$` for the root, and the deterministic subset of Sprig functions upstream allows (`functions.py`).

Values follow Go's rules: a missing map key is nil, printed `<no value>`; `if` is false for false, 0, nil and
empty strings, lists and maps; maps print as `map[k:v]` and lists as `[a b]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .functions import FUNCTIONS, TemplateError, go_string, truthy

__all__ = ["TemplateError", "render", "truthy"]

_DECLARATION = re.compile(r"^\s*\$(\w+)\s*(?:,\s*\$(\w+)\s*)?:=(.*)$", re.DOTALL)
_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*") | (?P<raw>`[^`]*`) | (?P<num>-?\d+(?:\.\d+)?) |
    (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.) | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*) |
    (?P<ident>[A-Za-z_][A-Za-z0-9_]*) | (?P<punct>[()|]))""", re.VERBOSE)


@dataclass
class _Block:
    """`if`, `with` or `range` with its pipeline, its body and its else branch."""

    keyword: str
    pipeline: list[Any]
    names: tuple[str, ...] = ()  # `range $k, $v :=` / `with $x :=`: the variables it declares
    body: list[Any] = field(default_factory=list)
    orelse: list[Any] = field(default_factory=list)


def _tokens(source: str) -> list[tuple[str, str, bool]]:
    """(kind, text, glued) per token; `glued` when nothing separates it from the previous token."""
    out: list[tuple[str, str, bool]] = []
    pos = 0
    source = source.rstrip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise TemplateError(f"unexpected {source[pos:pos + 10]!r} in action {{{{{source}}}}}")
        kind = str(match.lastgroup)
        out.append((kind, str(match.group(kind)), match.start(kind) == pos))
        pos = match.end()
    return out


def _parse_pipeline(tokens: list[tuple[str, str, bool]], pos: int = 0, closing: str = "") -> tuple[list[Any], int]:
    """A pipeline: commands (lists of operands) separated by `|`; returns it and the position after it."""
    commands: list[list[Any]] = [[]]
    while pos < len(tokens):
        kind, text, _ = tokens[pos]
        if kind == "punct" and text == ")":
            if closing != ")":
                raise TemplateError("unexpected )")
            return commands, pos + 1
        if kind == "punct" and text == "|":
            commands.append([])
            pos += 1
            continue
        if kind == "punct" and text == "(":
            inner, pos = _parse_pipeline(tokens, pos + 1, ")")
            operand: Any = ("pipe", inner)
            if pos < len(tokens) and tokens[pos][0] == "field" and tokens[pos][2]:
                operand = ("chain", operand, tokens[pos][1])
                pos += 1
            commands[-1].append(operand)
            continue
        commands[-1].append((kind, text))
        pos += 1
    if closing:
        raise TemplateError("unclosed (")
    if any(not command for command in commands):
        raise TemplateError("missing command in pipeline")
    return commands, pos


def parse(template: str) -> list[Any]:
    """The template's tree: text, ("action", pipeline) and blocks."""
    root: list[Any] = []
    stack: list[tuple[_Block | None, list[Any]]] = [(None, root)]
    pos, trim_next = 0, False
    for match in _ACTION.finditer(template):
        text = template[pos:match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            stack[-1][1].append(text)
        pos, trim_next = match.end(), bool(match.group(3))
        body = match.group(2).strip()
        if body.startswith("/*"):
            continue
        word, _, rest = body.partition(" ")
        if word in ("if", "with", "range"):
            declared = _DECLARATION.match(rest)
            names = tuple(n for n in declared.group(1, 2) if n) if declared else ()
            block = _Block(word, _parse_pipeline(_tokens(declared.group(3) if declared else rest))[0], names)
            stack[-1][1].append(block)
            stack.append((block, block.body))
        elif word == "else":
            open_block = stack[-1][0]
            if open_block is None:
                raise TemplateError("{{else}} outside a block")
            stack.pop()
            if rest.strip().startswith("if "):  # else if: a nested if that one {{end}} closes with its parent
                nested = _Block("if", _parse_pipeline(_tokens(rest.strip()[3:]))[0])
                open_block.orelse.append(nested)
                stack.append((_Block("elseif", []), []))  # a marker popped together with `nested` by {{end}}
                stack.append((nested, nested.body))
            else:
                stack.append((open_block, open_block.orelse))
        elif word == "end":
            if stack[-1][0] is None:
                raise TemplateError("{{end}} without a block")
            stack.pop()
            while stack[-1][0] is not None and stack[-1][0].keyword == "elseif":
                stack.pop()
        else:
            stack[-1][1].append(("action", _parse_pipeline(_tokens(body))[0]))
    if len(stack) > 1:
        raise TemplateError("unexpected end of template: a block is not closed with {{end}}")
    tail = template[pos:]
    if "{{" in tail:
        raise TemplateError("unclosed action")
    if trim_next:
        tail = tail.lstrip()
    if tail:
        root.append(tail)
    return root


def _field(value: Any, path: str) -> Any:
    for name in path.strip(".").split("."):
        if not name:
            continue
        value = value.get(name) if isinstance(value, dict) else None
    return value


class _Evaluator:
    def __init__(self, root: Any, functions: dict[str, Callable[..., Any]]) -> None:
        self.root = root
        self.functions = functions
        self.variables: dict[str, Any] = {}

    def operand(self, operand: Any, dot: Any) -> Any:
        kind, text = operand[0], operand[1]
        if kind == "pipe":
            return self.pipeline(text, dot)
        if kind == "chain":
            return _field(self.operand(text, dot), operand[2])
        if kind == "field":
            return dot if text == "." else _field(dot, text)
        if kind == "var":
            name, _, path = text[1:].partition(".")
            return _field(self.variables.get(name) if name else self.root, path)
        if kind == "str":
            return json.loads(text)
        if kind == "raw":
            return text[1:-1]
        if kind == "num":
            return float(text) if "." in text else int(text)
        if text in ("true", "false"):
            return text == "true"
        if text == "nil":
            return None
        return self.call(text, [], dot)

    def call(self, name: str, args: list[Any], dot: Any) -> Any:
        function = self.functions.get(name)
        if function is None:
            raise TemplateError(f'function "{name}" not defined')
        try:
            return function(*args)
        except TemplateError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
            raise TemplateError(f"error calling {name}: {exc}") from None

    def pipeline(self, commands: list[list[Any]], dot: Any) -> Any:
        value: Any = None
        for index, command in enumerate(commands):
            head = command[0]
            piped = [value] if index else []
            if head[0] == "ident" and head[1] not in ("true", "false", "nil"):
                value = self.call(head[1], [self.operand(o, dot) for o in command[1:]] + piped, dot)
            elif len(command) > 1 or piped:
                raise TemplateError(f"can't give argument to non-function {head[1]}")
            else:
                value = self.operand(head, dot)
        return value

    def nodes(self, nodes: list[Any], dot: Any, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, _Block):
                self.block(node, dot, out)
            else:
                out.append(go_string(self.pipeline(node[1], dot)))

    def block(self, block: _Block, dot: Any, out: list[str]) -> None:
        value = self.pipeline(block.pipeline, dot)
        if block.keyword == "range":
            items = [(k, value[k]) for k in sorted(value)] if isinstance(value, dict) else list(
                enumerate(value or []))
            for key, item in items:
                if block.names:  # `$v :=` names the element; `$k, $v :=` the key (or index) and the element
                    self.variables.update(zip(block.names[::-1], (item, key), strict=False))
                self.nodes(block.body, item, out)
            if not items:
                self.nodes(block.orelse, dot, out)
        elif truthy(value):
            if block.names:
                self.variables[block.names[0]] = value
            self.nodes(block.body, value if block.keyword == "with" else dot, out)
        else:
            self.nodes(block.orelse, dot, out)


def render(template: str, data: Any, *, functions: dict[str, Callable[..., Any]] | None = None) -> str:
    """The template rendered with `data` as `.`; raises TemplateError for a bad template or a failing call."""
    tree = parse(template)
    out: list[str] = []
    _Evaluator(data, {**FUNCTIONS, **(functions or {})}).nodes(tree, data, out)
    return "".join(out)

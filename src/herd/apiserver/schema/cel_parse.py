"""A parser of CEL expressions into a small syntax tree, for what the evaluator library does not offer: checking a
rule against the schema it is declared on (cel_check) and estimating its cost before it runs.

`common-expression-language` compiles and runs rules but shows no syntax tree; its compile step stays the judge
of syntax. This parser follows CEL's grammar (ternary, `||`, `&&`, relations and `in`, `+ -`, `* / %`, unary
`! -`, member selection and calls, indexing, list and map literals, the literals; `.?`/`[?` optional selection)
and raises ParseError on anything else, in which case the callers skip their checks rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class ParseError(ValueError):
    """The expression uses syntax this parser does not know (the library may still accept it)."""


@dataclass(frozen=True)
class Node:
    """One expression: `kind` is ident, literal, select, call, index, list, map, unary, binary or ternary."""

    kind: str
    position: int  # offset in the source of the token that made the node (the '.' of a selection)
    name: str = ""  # identifier, selected field, called function or operator
    value: object = None  # a literal's value
    target: Node | None = None  # the receiver of a selection, member call or index
    args: tuple[Node, ...] = field(default_factory=tuple)
    test_only: bool = False  # a selection inside has()


_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*)
  | (?P<string>[rR]?[bB]?[rR]?('''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|\||&&|==|!=|<=|>=|\.\?|\[\?|[-+*/%<>!?:.,()\[\]{}])
""", re.VERBOSE)
_RELATIONS = ("==", "!=", "<", "<=", ">", ">=", "in")


def _literal(kind: str, text: str) -> object:
    if kind == "number":
        body = text.rstrip("uU")
        if body.lower().startswith("0x"):
            return int(body, 16)
        return float(body) if any(c in body for c in ".eE") else int(body)
    quote_start = next(i for i, c in enumerate(text) if c in "'\"")
    quote = text[quote_start:quote_start + 3] if text[quote_start:quote_start + 3] in ("'''", '"""') \
        else text[quote_start]
    return text[quote_start + len(quote):len(text) - len(quote)]


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(source):
            match = _TOKEN.match(source, pos)
            if match is None:
                raise ParseError(f"unexpected character {source[pos]!r}")
            kind = match.lastgroup or ""
            if kind != "space":
                self.tokens.append((kind, match.group(), pos))
            pos = match.end()
        self.tokens.append(("end", "", len(source)))
        self.at = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.at]

    def take(self, text: str | None = None) -> tuple[str, str, int]:
        token = self.tokens[self.at]
        if text is not None and token[1] != text:
            raise ParseError(f"expected {text!r} at {token[2]}")
        self.at += 1
        return token

    def accept(self, text: str) -> bool:
        if self.peek()[1] == text and self.peek()[0] in ("op", "ident"):
            self.at += 1
            return True
        return False

    def expression(self) -> Node:
        condition = self.binary(0)
        if self.peek()[1] == "?":
            position = self.take()[2]
            yes = self.expression()
            self.take(":")
            no = self.expression()
            return Node("ternary", position, args=(condition, yes, no))
        return condition

    _LEVELS: tuple[tuple[str, ...], ...] = (("||",), ("&&",), _RELATIONS, ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[1] in self._LEVELS[level] and self.peek()[0] in ("op", "ident"):
            _, operator, position = self.take()
            right = self.binary(level + 1)
            left = Node("binary", position, name=operator, args=(left, right))
        return left

    def unary(self) -> Node:
        if self.peek()[1] in ("!", "-") and self.peek()[0] == "op":
            _, operator, position = self.take()
            return Node("unary", position, name=operator, args=(self.unary(),))
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            kind, text, position = self.peek()
            if text in (".", ".?") and kind == "op":
                self.take()
                name = self.take()
                if name[0] != "ident":
                    raise ParseError(f"expected a field name at {name[2]}")
                if self.peek()[1] == "(":
                    node = Node("call", position, name=name[1], target=node, args=self.arguments("(", ")"))
                else:
                    node = Node("select", position, name=name[1], target=node)
            elif text in ("[", "[?") and kind == "op":
                self.take()
                index = self.expression()
                self.take("]")
                node = Node("index", position, target=node, args=(index,))
            elif text == "{" and node.kind == "ident":
                raise ParseError("message construction is not supported")
            else:
                return node

    def arguments(self, opening: str, closing: str) -> tuple[Node, ...]:
        self.take(opening)
        items: list[Node] = []
        while self.peek()[1] != closing:
            items.append(self.expression())
            if not self.accept(","):
                break
        self.take(closing)
        return tuple(items)

    def primary(self) -> Node:
        kind, text, position = self.take()
        if kind in ("number", "string"):
            return Node("literal", position, value=_literal(kind, text))
        if kind == "ident":
            if text in ("true", "false"):
                return Node("literal", position, value=text == "true")
            if text == "null":
                return Node("literal", position, value=None)
            if self.peek()[1] == "(":
                return Node("call", position, name=text, args=self.arguments("(", ")"))
            return Node("ident", position, name=text)
        if text == ".":  # a leading dot names the root namespace: `.self`
            return self.primary()
        if text == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if text == "[":
            self.at -= 1
            return Node("list", position, args=self.arguments("[", "]"))
        if text == "{":
            entries: list[Node] = []
            while self.peek()[1] != "}":
                self.accept("?")
                key = self.expression()
                self.take(":")
                entries += [key, self.expression()]
                if not self.accept(","):
                    break
            self.take("}")
            return Node("map", position, args=tuple(entries))
        raise ParseError(f"unexpected {text or 'end of input'!r} at {position}")


def parse(source: str) -> Node:
    """The syntax tree of a CEL expression; ParseError when it uses syntax this parser does not know."""
    parser = _Parser(source)
    node = parser.expression()
    if parser.peek()[0] != "end":
        raise ParseError(f"unexpected {parser.peek()[1]!r} at {parser.peek()[2]}")
    return node


MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})

"""clusterctl's template language, as its simple processor reads a cluster template.

clusterctl substitutes with the drone/envsubst grammar (the version clusterctl pins), after rewriting the legacy
spellings `${ VAR }`, `${ VAR}` and `${VAR }` to `${VAR}`. What that means for a template author:

- `${VAR}` is substituted; `$VAR` is left as it is; `$$` is one literal `$` (so `$${VAR}` prints `${VAR}`).
- `${VAR:=default}`, `${VAR:-default}`, `${VAR=default}`, `${VAR:?default}` and `${VAR:+default}` all give the
  default when VAR is unset or empty: envsubst does not tell an empty value from an unset one. `${VAR-default}` and
  `${VAR+default}` are not in the grammar (a parse error, as clusterctl reports it).
- A default is any text up to the next `}`, and may hold further `${OTHER}` substitutions.
- The bash-like functions work too: `${#VAR}`, `${VAR^}`, `${VAR^^}`, `${VAR,}`, `${VAR,,}`, `${VAR:offset}`,
  `${VAR:offset:length}`, `${VAR#glob}`, `${VAR##glob}`, `${VAR%glob}`, `${VAR%%glob}`, `${VAR/old/new}`,
  `${VAR//old/new}`, `${VAR/#old/new}`, `${VAR/%old/new}`.

clusterctl decides which variables a template requires from the substitutions outside any default: the first
substitution of a name decides its default, and a name whose first substitution has no default (or an empty one)
is required. A variable that is set, even to "", is never missing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# clusterctl's legacy spellings: whitespace (RE2's \s, which has no \v) around a name made of these characters
_LEGACY_SPELLING = re.compile(r"\$\{(?:[\t\n\f\r ]+[A-Za-z0-9_$]+[\t\n\f\r ]+|[\t\n\f\r ]+[A-Za-z0-9_$]+"
                              r"|[A-Za-z0-9_$]+[\t\n\f\r ]+)\}")
_WHITESPACE = re.compile(r"[\t\n\f\r ]")
_OPENING_OR_ESCAPE = re.compile(r"\$[{$]")
_GO_INTEGER = re.compile(r"[+-]?[0-9]+")
_SUBSTITUTION_OPENING = "${"


class TemplateSyntaxError(ValueError):
    """The template does not parse; the message names envsubst's reason and the line."""


class MissingVariables(LookupError):
    """Required variables with no value; `names` is sorted."""

    def __init__(self, names: list[str]) -> None:
        self.names = sorted(names)
        super().__init__(f"value for variables [{', '.join(self.names)}] is not set")


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Substitution:
    """`${name<operator>args}`: operator "" is a plain `${name}`; each argument is Text or a nested Substitution."""

    name: str
    operator: str = ""
    args: tuple[Text | Substitution, ...] = ()


Node = Text | Substitution
Lookup = Callable[[str], str | None]  # a variable's value, or None when it is not set anywhere


def normalize_legacy_spellings(template: str) -> str:
    return _LEGACY_SPELLING.sub(lambda found: _WHITESPACE.sub("", found.group(0)), template)


def parse(template: str) -> list[Node]:
    """The template's top-level nodes, after the legacy spellings are normalized."""
    return _Parser(normalize_legacy_spellings(template)).template()


def variable_defaults(template: str) -> dict[str, str | None]:
    """Each variable the template substitutes, by name, with its default text; None marks a required variable.

    A default is shown as written, with a nested substitution as `${NAME}` (clusterctl's --list-variables)."""
    return _defaults(parse(template))


def render(template: str, lookup: Lookup) -> str:
    """The template with every substitution made; MissingVariables names every required variable with no value."""
    nodes = parse(template)
    missing = [name for name, default in _defaults(nodes).items() if default is None and lookup(name) is None]
    if missing:
        raise MissingVariables(missing)
    return "".join(_evaluate(node, lookup) for node in nodes)


def _defaults(nodes: list[Node]) -> dict[str, str | None]:
    """Only substitutions outside a default count, and a name's first substitution decides its default."""
    defaults: dict[str, str | None] = {}
    for node in nodes:
        if isinstance(node, Substitution) and node.name not in defaults:
            written = "".join(arg.value if isinstance(arg, Text) else f"${{{arg.name}}}" for arg in node.args)
            defaults[node.name] = written or None
    return dict(sorted(defaults.items()))


def _evaluate(node: Node, lookup: Lookup) -> str:
    if isinstance(node, Text):
        return node.value
    args = [_evaluate(arg, lookup) for arg in node.args]
    return _FUNCTIONS.get((node.operator, len(args) > 0), _default)(lookup(node.name) or "", args)


def _text_of(pieces: list[str]) -> list[Node]:
    joined = "".join(pieces)
    return [Text(joined)] if joined else []


def _is_name_character(character: str) -> bool:
    return character.isalpha() or character == "_" or unicodedata.category(character) == "Nd"


class _Parser:
    """envsubst's grammar over one string; `position` is the next character to read."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def template(self) -> list[Node]:
        nodes: list[Node] = []
        run: list[str] = []
        while (found := _OPENING_OR_ESCAPE.search(self.text, self.position)) is not None:
            run.append(self.text[self.position:found.start()])
            self.position = found.end()
            if found.group(0) == "$$":
                run.append("$")
                continue
            nodes.extend(_text_of(run))
            run = []
            nodes.append(self.substitution())
        run.append(self.text[self.position:])
        nodes.extend(_text_of(run))
        return nodes

    def peek(self, ahead: int = 0) -> str:
        index = self.position + ahead
        return self.text[index] if index < len(self.text) else ""

    def fail(self, reason: str) -> TemplateSyntaxError:
        line = self.text.count("\n", 0, min(self.position, len(self.text))) + 1
        return TemplateSyntaxError(f"{reason} (line {line})")

    def take(self, accepted: Callable[[str], bool], limit: int | None = None) -> str:
        start = self.position
        while self.peek() and accepted(self.peek()) and (limit is None or self.position - start < limit):
            self.position += 1
        return self.text[start:self.position]

    def close(self) -> None:
        if self.peek() != "}":
            raise self.fail("bad substitution")
        self.position += 1

    def substitution(self) -> Substitution:
        """What follows a `${`."""
        if self.peek() == "#":
            self.position += 1
            name = self.take(_is_name_character)
            if not name:
                raise self.fail("bad substitution")
            self.close()
            return Substitution(name, "#")
        name = self.take(_is_name_character)
        if not name:
            raise self.fail("unable to parse variable name")
        following = self.peek()
        if following == ":" and self.peek(1) in ("=", "-", "?", "+"):
            return self.default(name, self.take(lambda _: True, limit=2))
        if following == ":":
            self.position += 1
            return self.substring(name)
        if following == "=":
            return self.default(name, self.take(lambda _: True, limit=1))
        if following in (",", "^"):
            operator = self.take(lambda character: character in (",", "^"), limit=2)
            self.close()
            return Substitution(name, operator)
        if following == "/":
            return self.replacement(name)
        if following in ("#", "%"):
            operator = self.take(lambda character: character == following, limit=2)
            argument = self.argument(lambda character: character != "}")
            self.close()
            return Substitution(name, operator, (argument,))
        if following != "}":
            raise self.fail("missing closing brace")
        self.position += 1
        return Substitution(name)

    def default(self, name: str, operator: str) -> Substitution:
        args: list[Node] = []
        while self.peek() != "}":
            args.append(self.argument(lambda character: character != "}"))
        self.position += 1
        return Substitution(name, operator, tuple(args))

    def substring(self, name: str) -> Substitution:
        offset = self.argument(lambda character: character not in (":", "}"))
        if self.peek() == "}":
            self.position += 1
            return Substitution(name, ":", (offset,))
        if not self.take(lambda character: character == ":"):
            raise self.fail("bad substitution")
        length = self.argument(lambda character: character != "}")
        self.close()
        return Substitution(name, ":", (offset, length))

    def replacement(self, name: str) -> Substitution:
        operator = "/"
        self.position += 1
        if self.peek() in ("/", "#", "%"):
            operator += self.peek()
            self.position += 1
        pattern = self.argument(lambda character: character != "/", escapes=True)
        if not self.take(lambda character: character == "/"):
            raise self.fail("bad substitution")
        if self.peek() == "}":
            self.position += 1
            return Substitution(name, operator, (pattern,))
        replacement = self.argument(lambda character: character != "}", escapes=True)
        self.close()
        return Substitution(name, operator, (pattern, replacement))

    def argument(self, accepted: Callable[[str], bool], escapes: bool = False) -> Node:
        """One argument of a function: a nested substitution, or text up to a character `accepted` refuses.

        With `escapes` (a replacement's pattern and text), `$$` is one `$`, and a backslash before `/` or `\\`
        makes that character literal."""
        if self.text.startswith(_SUBSTITUTION_OPENING, self.position):
            self.position += len(_SUBSTITUTION_OPENING)
            return self.substitution()
        characters: list[str] = []
        while self.peek() and not self.text.startswith(_SUBSTITUTION_OPENING, self.position):
            if escapes and (self.peek(), self.peek(1)) in (("$", "$"), ("\\", "/"), ("\\", "\\")):
                characters.append(self.peek(1))
                self.position += 2
                continue
            if not accepted(self.peek()):
                break
            characters.append(self.peek())
            self.position += 1
        if not characters:
            raise self.fail("unable to parse substitution within function")
        return Text("".join(characters))


# --- envsubst's functions: each takes the variable's value ("" when unset) and the evaluated arguments ---

def _default(value: str, args: list[str]) -> str:
    return value if value or not args else "".join(args)


def _first(transform: Callable[[str], str]) -> Callable[[str, list[str]], str]:
    return lambda value, _: transform(value[:1]) + value[1:]


def _whole(transform: Callable[[str], str]) -> Callable[[str, list[str]], str]:
    return lambda value, _: transform(value)


def _substring(value: str, args: list[str]) -> str:
    """Byte offsets, as Go slices a string; a number that does not parse leaves the value whole."""
    data = value.encode()
    if not _GO_INTEGER.fullmatch(args[0]):
        return value
    start = int(args[0])
    start = max(len(data) + start, 0) if start < 0 else start
    if len(args) == 1:
        return data[start:].decode(errors="replace")
    if not _GO_INTEGER.fullmatch(args[1]):
        return value
    end = start + int(args[1])  # a negative length makes Go panic; here it gives ""
    return data[start:max(end, start)].decode(errors="replace")


def _replace(count: int) -> Callable[[str, list[str]], str]:
    def replace(value: str, args: list[str]) -> str:
        return value.replace(args[0], args[1] if len(args) > 1 else "", count)
    return replace


def _replace_prefix(value: str, args: list[str]) -> str:
    return args[1] + value[len(args[0]):] if len(args) == 2 and value.startswith(args[0]) else value


def _replace_suffix(value: str, args: list[str]) -> str:
    return value[:len(value) - len(args[0])] + args[1] if len(args) == 2 and value.endswith(args[0]) else value


def _trim(longest: bool, suffix: bool) -> Callable[[str, list[str]], str]:
    """`#`, `##`, `%`, `%%`: a suffix is trimmed as a prefix of the reversed value by the reversed pattern."""
    def trim(value: str, args: list[str]) -> str:
        subject, pattern = (value[::-1], args[0][::-1]) if suffix else (value, args[0])
        matcher = _glob(pattern)
        if matcher is None:
            return value
        prefixes = (subject[:end] for end in range(len(subject), 0, -1))
        matching = [prefix for prefix in prefixes if matcher.fullmatch(prefix)]
        if not matching:
            return value
        trimmed = subject[len(matching[0] if longest else matching[-1]):]
        return trimmed[::-1] if suffix else trimmed
    return trim


def _glob(pattern: str) -> re.Pattern[str] | None:
    """envsubst's glob (`*` and `?` also match `/`; `[^...]` negates) as a regex; None when it is malformed."""
    try:
        return re.compile("".join(_glob_parts(pattern)), re.DOTALL)
    except (ValueError, re.error):
        return None


def _glob_parts(pattern: str) -> Iterator[str]:
    index = 0
    while index < len(pattern):
        character = pattern[index]
        index += 1
        if character == "*":
            yield ".*"
        elif character == "?":
            yield "."
        elif character == "\\":
            if index == len(pattern):
                raise ValueError("trailing backslash")
            yield re.escape(pattern[index])
            index += 1
        elif character == "[":
            klass, index = _glob_class(pattern, index)
            yield klass
        else:
            yield re.escape(character)


def _glob_class(pattern: str, index: int) -> tuple[str, int]:
    negated = index < len(pattern) and pattern[index] == "^"
    index += negated
    ranges: list[str] = []
    while not (index < len(pattern) and pattern[index] == "]" and ranges):
        low, index = _glob_class_character(pattern, index)
        high = low
        if pattern[index] == "-":
            high, index = _glob_class_character(pattern, index + 1)
        ranges.append(f"{re.escape(low)}-{re.escape(high)}" if low <= high else "")
    items = "".join(ranges)
    if not items:
        return ("." if negated else "(?!)"), index + 1
    return f"[{'^' if negated else ''}{items}]", index + 1


def _glob_class_character(pattern: str, index: int) -> tuple[str, int]:
    if index >= len(pattern) or pattern[index] in ("-", "]"):
        raise ValueError("bad character class")
    if pattern[index] == "\\":
        index += 1
    if index + 1 >= len(pattern):  # a class must still be closed after this character
        raise ValueError("unterminated character class")
    return pattern[index], index + 1


_FUNCTIONS: dict[tuple[str, bool], Callable[[str, list[str]], str]] = {
    (",", False): _first(str.lower), (",,", False): _whole(str.lower),
    ("^", False): _first(str.upper), ("^^", False): _whole(str.upper),
    ("#", False): lambda value, _: str(len(value.encode())),
    ("#", True): _trim(longest=False, suffix=False), ("##", True): _trim(longest=True, suffix=False),
    ("%", True): _trim(longest=False, suffix=True), ("%%", True): _trim(longest=True, suffix=True),
    (":", True): _substring,
    ("/", True): _replace(1), ("//", True): _replace(-1),
    ("/#", True): _replace_prefix, ("/%", True): _replace_suffix,
}

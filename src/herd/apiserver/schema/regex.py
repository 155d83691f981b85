"""OpenAPI `pattern` strings compiled with Go RE2 semantics on top of Python's `re`.

kube-apiserver compiles `pattern` with Go's RE2. Schemas in the wild are written against
that engine, so the few places where Python's `re` reads the same text differently are
translated before compiling:

* `$` means "end of text" in RE2 but "end of text or before a final newline" in Python,
  which would let `"abc\\n"` match `^[a-z]+$`. It becomes `\\Z` (unless `(?m)` asks for lines).
* RE2's `\\z` (end of text) does not exist in older Python; it becomes `\\Z`.
* POSIX classes such as `[[:alpha:]]` are RE2 syntax only; they are expanded to ranges.
* `\\d`, `\\w`, `\\s` and `\\b` are ASCII-only in RE2, hence `re.ASCII`.

Matching is unanchored (`search`), like RE2's `MatchString`.
"""

from __future__ import annotations

import re
from functools import lru_cache

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}


def _translate(pattern: str) -> str:
    """Rewrite the RE2-only spellings in `pattern` into their Python `re` equivalents."""
    multiline = "(?m" in pattern or "(?sm" in pattern or "(?im" in pattern
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append("\\Z" if nxt == "z" and not in_class else pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2 : end] if end > 0 else ""
                negated = name.startswith("^")
                if end > 0 and name.lstrip("^") in _POSIX_CLASSES and not negated:
                    out.append(_POSIX_CLASSES[name])
                    i = end + 2
                    continue
            if ch == "[":
                out.append("\\[")  # RE2 treats a bare `[` inside a class as a literal
                i += 1
                continue
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            # A `]` (or `^]`) right after the opening bracket is a literal, not the end of the class.
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if ch == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile an OpenAPI `pattern`; raises `re.error` when it is not a valid expression.

    Cached by pattern text: the same few patterns (DNS names, label keys...) recur across
    every CRD, so each is compiled once per process.
    """
    return re.compile(_translate(pattern), re.ASCII)


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` does not compile, or None when it does."""
    try:
        compile_pattern(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        return str(exc)
    return None

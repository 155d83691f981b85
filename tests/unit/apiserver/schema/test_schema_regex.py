"""`pattern` keywords match like Go's RE2 does in kube-apiserver, not like Python's `re` would."""

from __future__ import annotations

import pytest

from herd.apiserver.schema.regex import compile_pattern, pattern_error


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("^[a-z]+$", "abc", True),
        ("^[a-z]+$", "abc\n", False),  # Python's `$` would accept the trailing newline
        ("[$]", "cost $5", True),  # `$` inside a class stays a literal
        (r"\$", "cost $5", True),
        (r"^a\z", "a", True),
        (r"^a\z", "a\n", False),
        ("^[[:alpha:]]+$", "abc", True),
        ("^[[:digit:]]+$", "12a", False),
        (r"^\d+$", "١٢", False),  # RE2's \d is ASCII-only
        ("^[]a]+$", "]a", True),
        ("b", "abc", True),  # unanchored search, like RE2's MatchString
        ("(?m)^b$", "a\nb\nc", True),
    ],
)
def test_patterns_follow_re2_semantics(pattern: str, value: str, matches: bool) -> None:
    assert (compile_pattern(pattern).search(value) is not None) is matches


def test_compiled_patterns_are_cached_by_text() -> None:
    assert compile_pattern("^x+$") is compile_pattern("^x+$")


def test_invalid_patterns_are_reported() -> None:
    assert pattern_error("([a-z]") is not None
    assert pattern_error("^ok$") is None

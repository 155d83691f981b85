"""Sprig's `semverCompare "<constraint>" <version>` (Masterminds semver constraints): `=`, `!=`, `>`, `<`, `>=`,
`<=`, `~` (patch updates), `^` (minor updates), partial versions (`1.2` is `1.2.x`), `,` or spaces for and,
`||` for or. A leading `v` is allowed on both sides; a pre-release sorts before its release and satisfies only
constraints that carry a pre-release themselves (hence upstream's `< v1.25-0`)."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_CONSTRAINT = re.compile(r"(!=|>=|=>|<=|=<|>|<|=|~>|~|\^)?\s*(v?[0-9xX*][0-9A-Za-z.+*-]*)")

Version = tuple[int, int, int, tuple[tuple[int, int | str], ...]]


def _prerelease_key(pre: str | None) -> tuple[tuple[int, int | str], ...]:
    """A release sorts after any of its pre-releases: (1,) for none, (0, parts…) for one."""
    if not pre:
        return ((1, 0),)
    return ((0, 0), *((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")))


def parse_version(text: str) -> Version:
    match = _VERSION.match(text.strip())
    if match is None or any(p and not p.isdigit() for p in match.group(2, 3)):
        raise ValueError(f"invalid semantic version {text!r}")
    return (int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0),
            _prerelease_key(match.group(4)))


def _check(op: str, bound: str, version: Version) -> bool:
    match = _VERSION.match(bound)
    if match is None:
        raise ValueError(f"invalid constraint version {bound!r}")
    if version[3] != _prerelease_key(None) and not match.group(4):
        return False  # as Masterminds: a pre-release only satisfies constraints that name a pre-release
    parts = [match.group(1), match.group(2), match.group(3)]
    wild = [p is None or not p.isdigit() for p in parts]
    numbers = [0 if w else int(str(p)) for p, w in zip(parts, wild, strict=True)]
    low: Version = (numbers[0], numbers[1], numbers[2], _prerelease_key(match.group(4)))
    if op in ("", "=") and any(wild):
        op = "~" if not wild[1] else "^"
    if op == "^":
        high: Version = ((numbers[0] + 1, 0, 0, ((0, 0),)) if numbers[0] or wild[1]
                         else (0, numbers[1] + 1, 0, ((0, 0),)))
        return low <= version < high
    if op in ("~", "~>"):
        high = ((numbers[0], numbers[1] + 1, 0, ((0, 0),)) if not wild[1] else (numbers[0] + 1, 0, 0, ((0, 0),)))
        return low <= version < high
    compare = {"": version == low, "=": version == low, "!=": version != low, ">": version > low,
               "<": version < low, ">=": version >= low, "=>": version >= low, "<=": version <= low,
               "=<": version <= low}
    return compare[op]


def semver_compare(constraint: str, version: str) -> bool:
    """Whether `version` satisfies `constraint`; raises ValueError for either being malformed."""
    parsed = parse_version(str(version))
    for alternative in str(constraint).split("||"):
        checks = _CONSTRAINT.findall(alternative.replace(",", " "))
        if not checks:
            raise ValueError(f"invalid constraint {constraint!r}")
        if all(_check(op, bound, parsed) for op, bound in checks):
            return True
    return False

"""Label selectors: the string form (`a=b,c!=d,e in (x,y),!f`) and the `LabelSelector` object form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Operator = Literal["=", "!=", "in", "notin", "exists", "!"]

_SET_REQUIREMENT = re.compile(r"^\s*(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)\s*$")
_EQUALITY = re.compile(r"^\s*(?P<key>[^\s!=(),]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s!=(),]*)\s*$")
_EXISTS = re.compile(r"^\s*(?P<neg>!?)\s*(?P<key>[^\s!=(),]+)\s*$")


@dataclass(frozen=True)
class Requirement:
    """One condition on one label."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and labels[self.key] in self.values
        # "!=" and "notin" match objects without the label, as in Kubernetes
        return not present or labels[self.key] not in self.values

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("=", "!="):
            return f"{self.key}{self.operator}{next(iter(self.values))}"
        return f"{self.key} {self.operator} ({','.join(sorted(self.values))})"


@dataclass(frozen=True)
class Selector:
    """All requirements must hold; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether a label set satisfies every requirement."""
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def matches_object(self, obj: Mapping[str, Any]) -> bool:
        """Whether an object's `metadata.labels` satisfy the selector."""
        return self.matches((obj.get("metadata") or {}).get("labels"))

    @property
    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    @classmethod
    def parse(cls, text: str) -> Selector:
        """Parse the string form; raises ValueError on bad syntax."""
        if not text.strip():
            return cls()
        return cls(tuple(_parse_requirement(part) for part in _split(text)))

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> Selector:
        """Equality on each label (a `matchLabels` map)."""
        return cls(tuple(Requirement(k, "=", frozenset([v])) for k, v in sorted(labels.items())))

    @classmethod
    def from_label_selector(cls, selector: Mapping[str, Any] | None) -> Selector:
        """The `metav1.LabelSelector` object form: matchLabels and matchExpressions.

        A missing selector matches everything, as for a MachineSet whose selector is empty. Parsed selectors are
        kept (they are immutable): controllers match one owner's selector against each of its many children.
        """
        if not selector:
            return cls()
        try:
            key = _selector_key(selector)
            found = _PARSED.get(key)
        except (TypeError, AttributeError):  # malformed (unhashable values…): parse it to raise the right error
            return cls._parse_label_selector(selector)
        if found is None:
            if len(_PARSED) >= _PARSED_KEPT:
                _PARSED.clear()
            found = _PARSED[key] = cls._parse_label_selector(selector)
        return found

    @classmethod
    def _parse_label_selector(cls, selector: Mapping[str, Any]) -> Selector:
        requirements = list(cls.from_labels(selector.get("matchLabels") or {}).requirements)
        for expr in selector.get("matchExpressions") or []:
            op = expr.get("operator")
            values = frozenset(expr.get("values") or [])
            if op == "In":
                requirements.append(Requirement(expr["key"], "in", values))
            elif op == "NotIn":
                requirements.append(Requirement(expr["key"], "notin", values))
            elif op == "Exists":
                requirements.append(Requirement(expr["key"], "exists"))
            elif op == "DoesNotExist":
                requirements.append(Requirement(expr["key"], "!"))
            else:
                raise ValueError(f"unknown label selector operator {op!r}")
        return cls(tuple(requirements))


_PARSED: dict[tuple[Any, ...], Selector] = {}
_PARSED_KEPT = 1024


def _selector_key(selector: Mapping[str, Any]) -> tuple[Any, ...]:
    labels = tuple(sorted((selector.get("matchLabels") or {}).items()))
    expressions = tuple((e.get("key"), e.get("operator"), tuple(e.get("values") or ()))
                        for e in selector.get("matchExpressions") or ())
    return labels, expressions


def as_selector(selector: str | Mapping[str, str] | Selector | None) -> Selector:
    """A Selector from a string, a label map, a Selector, or None (everything)."""
    if selector is None:
        return Selector()
    if isinstance(selector, Selector):
        return selector
    if isinstance(selector, str):
        return Selector.parse(selector)
    return Selector.from_labels(selector)


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise ValueError(f"unbalanced parentheses in label selector {text!r}")
    parts.append("".join(current))
    return parts


def _parse_requirement(part: str) -> Requirement:
    match = _SET_REQUIREMENT.match(part)
    if match:
        values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
        return Requirement(match["key"], "in" if match["op"] == "in" else "notin", values)
    match = _EQUALITY.match(part)
    if match:
        return Requirement(match["key"], "!=" if match["op"] == "!=" else "=", frozenset([match["value"]]))
    match = _EXISTS.match(part)
    if match:
        return Requirement(match["key"], "!" if match["neg"] else "exists")
    raise ValueError(f"invalid label selector requirement {part.strip()!r}")

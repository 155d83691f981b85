"""Label and field selectors, parsed and matched with kube-apiserver's rules and error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from herd.apiserver.errors import bad_request

__all__ = ["FIELD_PATH_ALIASES", "FieldSelector", "LabelSelector", "Requirement", "object_fields"]

# Operators as they appear in query strings, and the ones `LabelSelector` keeps internally.
_EQUALS, _DOUBLE_EQUALS, _NOT_EQUALS = "=", "==", "!="
_IN, _NOT_IN, _EXISTS, _DOES_NOT_EXIST, _GT, _LT = "in", "notin", "exists", "!", "gt", "lt"
# Two-character operators first, then single punctuation, then identifiers (runs of anything else).
_TOKEN_RE = re.compile(r"!=|==|[!=(),<>]|[^\s!=(),<>]+")
_PUNCTUATION = frozenset({"!", "(", ")", ",", "<", ">", "=", "==", "!="})
_EOS = ""  # token kind for the end of the string

_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _key_error(key: str) -> str | None:
    """Why `key` is not a valid label key (an optional DNS-subdomain prefix and a name), or None."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        return "prefix part must be non-empty"
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix)):
        return ("prefix part must be a lowercase RFC 1123 subdomain: lowercase alphanumeric characters, "
                "'-' or '.', starting and ending with an alphanumeric character")
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _NAME_RE.match(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                "end with an alphanumeric character")
    return None


def _value_error(value: str) -> str | None:
    """Why `value` is not a valid label value (empty is allowed), or None."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if value and not _NAME_RE.match(value):
        return ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                "'.', and must start and end with an alphanumeric character")
    return None


@dataclass(frozen=True)
class Requirement:
    """One label requirement: `key`, an operator (`=`, `==`, `!=`, `in`, `notin`, `exists`, `!`, `gt`, `lt`)
    and the values it compares against."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether a label set satisfies this requirement; missing labels satisfy only the negative ones."""
        present = self.key in labels
        if self.operator == _EXISTS:
            return present
        if self.operator == _DOES_NOT_EXIST:
            return not present
        if self.operator in (_NOT_EQUALS, _NOT_IN):
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        if self.operator in (_GT, _LT):
            try:
                have = int(labels[self.key])
            except ValueError:
                return False
            want = int(self.values[0])
            return have > want if self.operator == _GT else have < want
        return labels[self.key] in self.values

    def __str__(self) -> str:
        if self.operator == _EXISTS:
            return self.key
        if self.operator == _DOES_NOT_EXIST:
            return f"!{self.key}"
        if self.operator in (_IN, _NOT_IN):
            return f"{self.key} {self.operator} ({','.join(sorted(self.values))})"
        symbol = {_GT: ">", _LT: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{self.values[0]}"


def _new_requirement(key: str, operator: str, values: list[str]) -> Requirement:
    """Validate like kube's labels.NewRequirement; errors become 400 BadRequest."""
    problem = _key_error(key)
    if problem:
        raise bad_request(f'unable to parse requirement: key: Invalid value: "{key}": {problem}')
    if operator in (_IN, _NOT_IN) and not values:
        raise bad_request("unable to parse requirement: values: Invalid value: []: "
                          "for 'in', 'notin' operators, values set can't be empty")
    if operator in (_GT, _LT):
        if not re.fullmatch(r"-?[0-9]+", values[0]):
            raise bad_request(f'unable to parse requirement: values[0]: Invalid value: "{values[0]}": '
                              "for 'Gt', 'Lt' operators, the value must be an integer")
    else:
        for i, value in enumerate(values):
            problem = _value_error(value)
            if problem:
                raise bad_request(
                    f'unable to parse requirement: values[{i}][{key}]: Invalid value: "{value}": {problem}'
                )
    return Requirement(key, operator, tuple(dict.fromkeys(values)))


def _tokens(text: str) -> list[str]:
    """Split a label selector into identifiers and the operators/punctuation between them."""
    return _TOKEN_RE.findall(text)


def _is_identifier(token: str) -> bool:
    return token != _EOS and token not in _PUNCTUATION


class _Parser:
    """Recursive-descent parser over `_tokens`, producing kube-style "found X, expected: Y" errors."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else _EOS

    def take(self) -> str:
        token = self.peek()
        self.pos += 1
        return token

    @staticmethod
    def fail(found: str, expected: str) -> Exception:
        return bad_request(f"unable to parse requirement: found '{found}', expected: {expected}")

    def requirements(self) -> list[Requirement]:
        out: list[Requirement] = []
        if self.peek() == _EOS:
            return out
        while True:
            out.append(self.requirement())
            token = self.take()
            if token == _EOS:
                return out
            if token != ",":
                raise self.fail(token, "',' or 'end of string'")

    def requirement(self) -> Requirement:
        token = self.take()
        if token == "!":
            key = self.take()
            if not _is_identifier(key):
                raise self.fail(key, "identifier")
            return _new_requirement(key, _DOES_NOT_EXIST, [])
        if not _is_identifier(token) or token in (_IN, _NOT_IN):
            raise self.fail(token, "identifier")
        key = token
        if self.peek() in (_EOS, ","):
            return _new_requirement(key, _EXISTS, [])
        operator = self.take()
        if operator in (_IN, _NOT_IN):
            return _new_requirement(key, operator, self.value_set())
        ops = {"=": _EQUALS, "==": _DOUBLE_EQUALS, "!=": _NOT_EQUALS, ">": _GT, "<": _LT}
        if operator not in ops:
            raise self.fail(operator, "[!= < = == > in notin]")
        value = self.peek()
        if value in (_EOS, ","):
            return _new_requirement(key, ops[operator], [""])
        if not _is_identifier(value):
            raise self.fail(value, "identifier")
        self.take()
        return _new_requirement(key, ops[operator], [value])

    def value_set(self) -> list[str]:
        token = self.take()
        if token != "(":
            raise self.fail(token, "'('")
        values: list[str] = []
        expect_value = True
        while True:
            token = self.take()
            if token == ")":
                if expect_value and values:
                    values.append("")  # "a in (x,)" carries an empty value, as in kube
                return values
            if token == "," and expect_value:
                values.append("")
            elif token == ",":
                expect_value = True
            elif expect_value and _is_identifier(token):
                values.append(token)
                expect_value = False
            else:
                raise self.fail(token, "',', ')' or identifier")


class LabelSelector:
    """A label selector: the AND of its requirements. The empty selector matches everything."""

    def __init__(self, requirements: list[Requirement] | None = None) -> None:
        # Sorted by key like kube, so `str()` is canonical whatever order the user wrote.
        self.requirements: tuple[Requirement, ...] = tuple(sorted(requirements or [], key=lambda r: r.key))

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse a `labelSelector` query string such as `app=web,tier in (a,b),!legacy`.

        Bad syntax or invalid keys/values raise 400 BadRequest with kube's style of message.
        """
        return cls(_Parser(text).requirements())

    @classmethod
    def from_label_selector(cls, sel: dict[str, Any]) -> LabelSelector:
        """Build a selector from a metav1.LabelSelector (`matchLabels` plus `matchExpressions`).

        An empty dict matches everything; callers decide what a missing (null) selector means.
        """
        if not isinstance(sel, dict):
            raise bad_request("label selector must be an object")
        reqs: list[Requirement] = []
        match_labels = sel.get("matchLabels") or {}
        if not isinstance(match_labels, dict):
            raise bad_request("matchLabels must be an object")
        for key, value in match_labels.items():
            reqs.append(_new_requirement(str(key), _EQUALS, [str(value)]))
        operators = {"In": _IN, "NotIn": _NOT_IN, "Exists": _EXISTS, "DoesNotExist": _DOES_NOT_EXIST}
        for expr in sel.get("matchExpressions") or []:
            if not isinstance(expr, dict):
                raise bad_request("matchExpressions items must be objects")
            operator = expr.get("operator")
            values = [str(v) for v in expr.get("values") or []]
            if operator not in operators:
                raise bad_request(f'"{operator}" is not a valid label selector operator')
            if operator in ("Exists", "DoesNotExist") and values:
                raise bad_request("values: Invalid value: for 'exists', 'doesnotexist' operators, "
                                  "values set must be empty")
            reqs.append(_new_requirement(str(expr.get("key", "")), operators[str(operator)], values))
        return cls(reqs)

    def matches(self, labels: dict[str, str] | None) -> bool:
        """Whether an object with these labels is selected."""
        have = labels or {}
        return all(req.matches(have) for req in self.requirements)

    def empty(self) -> bool:
        """True when the selector has no requirements and so selects everything."""
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(req) for req in self.requirements)

    def __repr__(self) -> str:
        return f"LabelSelector({str(self)!r})"


# ------------------------------------------------------------------------------------------ field selectors

# Field selector names that do not name the JSON path they read: Events select `source` on the
# reporting component.
FIELD_PATH_ALIASES: dict[str, str] = {"source": "source.component"}
# events.k8s.io/v1 selects on its own names over the core/v1 Events the store holds.
_STORED_EVENT_ALIASES: dict[str, str] = {
    **{f"regarding.{part}": f"involvedObject.{part}"
       for part in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reportingController": "reportingComponent",
}

_ALWAYS_ALLOWED = frozenset({"metadata.name", "metadata.namespace"})


# A term: escapes (backslash + any character) or anything but `,` and backslash; then `,` or the end.
_TERM_RE = re.compile(r"((?:\\.|[^,\\])*)(,|$)")
_ESCAPE_RE = re.compile(r"\\(.?)")


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    for match in _TERM_RE.finditer(text):
        terms.append(match.group(1))
        if not match.group(2):  # matched the end of the string
            break
    return terms


def _unescape(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in ("\\", ",", "="):
            raise bad_request(f"invalid field selector: invalid escape sequence in value {value!r}")
        return match.group(1)
    return _ESCAPE_RE.sub(one, value)


@dataclass(frozen=True)
class FieldRequirement:
    """One `field op value` term of a field selector; op is `=`, `==` or `!=`."""

    field: str
    operator: str
    value: str


class FieldSelector:
    """A field selector: the AND of `field=value` / `field!=value` terms over an object's field set."""

    def __init__(self, requirements: list[FieldRequirement] | None = None) -> None:
        self.requirements: tuple[FieldRequirement, ...] = tuple(requirements or [])

    @classmethod
    def parse(cls, text: str, allowed: frozenset[str] | None = None) -> FieldSelector:
        """Parse a `fieldSelector` query string such as `metadata.name=x,status.phase!=Running`.

        `metadata.name` and `metadata.namespace` are always allowed; any other field must be in
        `allowed` (when given) or the request fails with 400 "field label not supported: X".
        """
        reqs: list[FieldRequirement] = []
        if not text.strip():
            return cls(reqs)
        for part in _split_terms(text):
            found = _find_operator(part)
            if found is None:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
            index, operator = found
            field = part[:index].strip()
            value = _unescape(part[index + len(operator):].strip())
            if allowed is not None and field not in allowed and field not in _ALWAYS_ALLOWED:
                raise bad_request(f"field label not supported: {field}")
            reqs.append(FieldRequirement(field, operator, value))
        return cls(reqs)

    def matches(self, fields: dict[str, str]) -> bool:
        """Whether an object with this field set (see `object_fields`) is selected; absent fields are ""."""
        for req in self.requirements:
            equal = fields.get(req.field, "") == req.value
            if equal != (req.operator != _NOT_EQUALS):
                return False
        return True

    def requirement_value(self, field: str) -> str | None:
        """The value an `=`/`==` term demands of `field`, so `metadata.name=x` can be a direct lookup."""
        for req in self.requirements:
            if req.field == field and req.operator != _NOT_EQUALS:
                return req.value
        return None

    def empty(self) -> bool:
        """True when the selector has no terms and so selects everything."""
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(f"{r.field}{r.operator}{r.value}" for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"


def _find_operator(term: str) -> tuple[int, str] | None:
    """Position and text of the first unescaped `!=`, `==` or `=` in a term."""
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for operator in (_NOT_EQUALS, _DOUBLE_EQUALS, _EQUALS):
            if term.startswith(operator, i):
                return i, operator
        i += 1
    return None


def _as_field_string(value: object) -> str:
    # kube formats field values from typed Go fields; booleans print as true/false, absent things as "".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return ""


def object_fields(obj: dict[str, Any], namespaced: bool, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """The field set that field selectors match against for `obj`.

    Always `metadata.name`, plus `metadata.namespace` for namespaced resources, plus every dotted path
    in `extra` read from the object as a string ("" when absent). Names in `FIELD_PATH_ALIASES`
    (Events' `source`) read from their aliased path.
    """
    meta = obj.get("metadata") or {}
    fields = {"metadata.name": _as_field_string(meta.get("name"))}
    if namespaced:
        fields["metadata.namespace"] = _as_field_string(meta.get("namespace"))
    stored_event = obj.get("kind") == "Event" and obj.get("apiVersion") == "v1"
    for name in extra:
        path = _STORED_EVENT_ALIASES.get(name, name) if stored_event else name
        if name == "source" and stored_event and not (obj.get("source") or {}).get("component"):
            path = "reportingComponent"  # as kube: an Event with no source is selected by its reporter
        value: object = obj
        for part in FIELD_PATH_ALIASES.get(path, path).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        fields[name] = _as_field_string(value)
    return fields

"""Decode the Kubernetes protobuf request bodies kubectl sends, into the equivalent JSON-shaped dict.

`kubectl create namespace|configmap|secret|serviceaccount` POSTs `application/vnd.kubernetes.protobuf`:
the magic `k8s\\x00`, then a `runtime.Unknown` envelope whose `raw` field holds the object encoded with the
field numbers of k8s.io/api's generated.proto. This is a small hand-written wire-format reader driven by
declarative per-kind schemas; fields it does not know are skipped, whatever their wire type.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from herd.apiserver.errors import StatusError, bad_request

__all__ = ["PROTOBUF_CONTENT_TYPE", "SUPPORTED_KINDS", "decode_object"]

PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

# Wire types of the protobuf encoding.
_VARINT, _FIXED64, _BYTES, _START_GROUP, _END_GROUP, _FIXED32 = 0, 1, 2, 3, 4, 5


class _Malformed(Exception):
    """The bytes are not a well-formed protobuf message."""


@dataclass(frozen=True)
class _Field:
    """How one protobuf field number maps onto a JSON field.

    `kind` is string, bytes (base64 in JSON), int, bool, time (metav1.Time → RFC 3339), fieldsv1 (raw JSON),
    message (nested `schema`), map (string keys; values per `kind_of_values`).
    `keep_zero` marks Go pointer or non-omitempty fields, whose zero value still appears in JSON.
    """

    name: str
    kind: str = "string"
    repeated: bool = False
    schema: dict[int, _Field] = field(default_factory=dict)
    kind_of_values: str = "string"
    keep_zero: bool = False


def _s(name: str, keep_zero: bool = False) -> _Field:
    return _Field(name, keep_zero=keep_zero)


_TIME = "time"
_OWNER_REFERENCE = {
    5: _s("apiVersion", True), 1: _s("kind", True), 3: _s("name", True), 4: _s("uid", True),
    6: _Field("controller", "bool", keep_zero=True), 7: _Field("blockOwnerDeletion", "bool", keep_zero=True),
}
_MANAGED_FIELDS_ENTRY = {
    1: _s("manager"), 2: _s("operation"), 3: _s("apiVersion"), 4: _Field("time", _TIME),
    6: _s("fieldsType"), 7: _Field("fieldsV1", "fieldsv1"), 8: _s("subresource"),
}
# k8s.io/apimachinery/pkg/apis/meta/v1 ObjectMeta (15 was clusterName, 16 initializers: both long gone).
_OBJECT_META = {
    1: _s("name"), 2: _s("generateName"), 3: _s("namespace"), 4: _s("selfLink"), 5: _s("uid"),
    6: _s("resourceVersion"), 7: _Field("generation", "int"), 8: _Field("creationTimestamp", _TIME),
    9: _Field("deletionTimestamp", _TIME), 10: _Field("deletionGracePeriodSeconds", "int", keep_zero=True),
    11: _Field("labels", "map"), 12: _Field("annotations", "map"),
    13: _Field("ownerReferences", "message", repeated=True, schema=_OWNER_REFERENCE),
    14: _Field("finalizers", repeated=True),
    17: _Field("managedFields", "message", repeated=True, schema=_MANAGED_FIELDS_ENTRY),
}
_METADATA = _Field("metadata", "message", schema=_OBJECT_META)
_OBJECT_REFERENCE = {
    1: _s("kind"), 2: _s("namespace"), 3: _s("name"), 4: _s("uid"), 5: _s("apiVersion"),
    6: _s("resourceVersion"), 7: _s("fieldPath"),
}
_NAMESPACE_CONDITION = {
    1: _s("type", True), 2: _s("status", True), 4: _Field("lastTransitionTime", _TIME),
    5: _s("reason"), 6: _s("message"),
}

# Top-level schemas by (apiVersion, kind), field numbers from k8s.io/api/core/v1/generated.proto.
_KINDS: dict[tuple[str, str], dict[int, _Field]] = {
    ("v1", "Namespace"): {
        1: _METADATA,
        2: _Field("spec", "message", schema={1: _Field("finalizers", repeated=True)}),
        3: _Field("status", "message", schema={
            1: _s("phase"),
            2: _Field("conditions", "message", repeated=True, schema=_NAMESPACE_CONDITION),
        }),
    },
    ("v1", "ConfigMap"): {
        1: _METADATA, 2: _Field("data", "map"), 3: _Field("binaryData", "map", kind_of_values="bytes"),
        4: _Field("immutable", "bool", keep_zero=True),
    },
    ("v1", "Secret"): {
        1: _METADATA, 2: _Field("data", "map", kind_of_values="bytes"), 4: _Field("stringData", "map"),
        3: _s("type"), 5: _Field("immutable", "bool", keep_zero=True),
    },
    ("v1", "ServiceAccount"): {
        1: _METADATA,
        2: _Field("secrets", "message", repeated=True, schema=_OBJECT_REFERENCE),
        3: _Field("imagePullSecrets", "message", repeated=True, schema={1: _s("name")}),
        4: _Field("automountServiceAccountToken", "bool", keep_zero=True),
    },
    # kubectl auth whoami and can-i; field numbers from k8s.io/api/{authentication,authorization}/v1
    ("authentication.k8s.io/v1", "SelfSubjectReview"): {1: _METADATA},
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        1: _METADATA,
        2: _Field("spec", "message", schema={
            1: _Field("resourceAttributes", "message", schema={
                1: _s("namespace"), 2: _s("verb"), 3: _s("group"), 4: _s("version"), 5: _s("resource"),
                6: _s("subresource"), 7: _s("name")}),
            2: _Field("nonResourceAttributes", "message", schema={1: _s("path"), 2: _s("verb")}),
        }),
    },
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): {
        1: _METADATA, 2: _Field("spec", "message", schema={1: _s("namespace")})},
}
# kubectl create role|clusterrole|rolebinding|clusterrolebinding; field numbers from k8s.io/api/rbac/v1
_POLICY_RULES = _Field("rules", "message", repeated=True, schema={
    1: _Field("verbs", repeated=True), 2: _Field("apiGroups", repeated=True), 3: _Field("resources", repeated=True),
    4: _Field("resourceNames", repeated=True), 5: _Field("nonResourceURLs", repeated=True)})
_LABEL_SELECTOR = {1: _Field("matchLabels", "map"), 2: _Field("matchExpressions", "message", repeated=True, schema={
    1: _s("key", True), 2: _s("operator", True), 3: _Field("values", repeated=True)})}
_BINDING = {
    1: _METADATA,
    2: _Field("subjects", "message", repeated=True, schema={1: _s("kind", True), 2: _s("apiGroup"),
                                                              3: _s("name", True), 4: _s("namespace")}),
    3: _Field("roleRef", "message", schema={1: _s("apiGroup", True), 2: _s("kind", True), 3: _s("name", True)}),
}
for _rbac_kind, _rbac_schema in (
        ("Role", {1: _METADATA, 2: _POLICY_RULES}),
        ("ClusterRole", {1: _METADATA, 2: _POLICY_RULES, 3: _Field("aggregationRule", "message", schema={
            1: _Field("clusterRoleSelectors", "message", repeated=True, schema=_LABEL_SELECTOR)})}),
        ("RoleBinding", _BINDING), ("ClusterRoleBinding", _BINDING)):
    _KINDS[("rbac.authorization.k8s.io/v1", _rbac_kind)] = _rbac_schema

SUPPORTED_KINDS: frozenset[tuple[str, str]] = frozenset(_KINDS)
"""(apiVersion, kind) pairs `decode_object` understands."""

_UNKNOWN = {1: _Field("typeMeta", "message", schema={1: _s("apiVersion"), 2: _s("kind")}),
            2: _Field("raw", "bytes"), 3: _s("contentEncoding"), 4: _s("contentType")}


# ----------------------------------------------------------------------------------------- wire format


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a base-128 varint at `pos`; return (value, position after it)."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise _Malformed("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _Malformed("varint longer than 10 bytes")


def _skip_group(data: bytes, pos: int, number: int) -> int:
    # Deprecated proto2 groups: skip nested fields until the matching end-group tag.
    for field_number, wire_type, _value, after in _iter_fields(data, pos, in_group=True):
        if wire_type == _END_GROUP:
            if field_number != number:
                raise _Malformed("mismatched end-group tag")
            return after
    raise _Malformed("unterminated group")


def _iter_fields(data: bytes, pos: int = 0, in_group: bool = False) -> Iterator[tuple[int, int, Any, int]]:
    """Yield (field number, wire type, value, position after) for each field of a message."""
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise _Malformed("field number 0")
        value: Any = None
        if wire_type == _VARINT:
            value, pos = _varint(data, pos)
        elif wire_type in (_FIXED64, _FIXED32):
            size = 8 if wire_type == _FIXED64 else 4
            if pos + size > len(data):
                raise _Malformed("truncated fixed-width field")
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        elif wire_type == _BYTES:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise _Malformed("length-delimited field runs past the end")
            value, pos = data[pos:pos + size], pos + size
        elif wire_type == _START_GROUP:
            pos = _skip_group(data, pos, number)
        elif wire_type == _END_GROUP:
            if not in_group:
                raise _Malformed("unexpected end-group tag")
            yield number, wire_type, None, pos
            return
        else:
            raise _Malformed(f"invalid wire type {wire_type}")
        yield number, wire_type, value, pos


# ------------------------------------------------------------------------------------ schema-driven decode


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed("string field is not valid UTF-8") from exc


def _time(raw: bytes) -> str | None:
    seconds = nanos = 0
    for number, wire_type, value, _ in _iter_fields(raw):
        if wire_type == _VARINT and number == 1:
            seconds = value - (1 << 64) if value >= 1 << 63 else value  # int64 is two's complement
        elif wire_type == _VARINT and number == 2:
            nanos = value
    if seconds == 0 and nanos == 0:
        return None  # metav1.Time treats the all-zero timestamp as unset (JSON null)
    # metav1.Time serialises with second precision.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar(kind: str, wire_type: int, value: Any) -> Any:
    """Convert one wire value to its JSON form, checking that the wire type fits the declared kind."""
    if kind in ("int", "bool"):
        if wire_type != _VARINT:
            raise _Malformed(f"expected a varint, got wire type {wire_type}")
        if kind == "bool":
            return value != 0
        return value - (1 << 64) if value >= 1 << 63 else value
    if wire_type != _BYTES:
        raise _Malformed(f"expected a length-delimited field, got wire type {wire_type}")
    if kind == "string":
        return _text(value)
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == _TIME:
        return _time(value)
    raise AssertionError(kind)


def _is_zero(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, int) and value == 0)  # also False


def _decode(data: bytes, schema: dict[int, _Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, wire_type, value, _ in _iter_fields(data):
        spec = schema.get(number)
        if spec is None:
            continue  # a field this server has no use for
        if spec.kind == "map":
            key, item = _map_entry(wire_type, value, spec.kind_of_values)
            out.setdefault(spec.name, {})[key] = item
            continue
        if spec.kind in ("message", "fieldsv1"):
            if wire_type != _BYTES:
                raise _Malformed(f"{spec.name}: expected an embedded message")
            converted = _decode(value, spec.schema) if spec.kind == "message" else _fields_v1(value)
        else:
            converted = _scalar(spec.kind, wire_type, value)
        if spec.repeated:
            out.setdefault(spec.name, []).append(converted)
        elif spec.keep_zero or spec.kind == "message" or not _is_zero(converted):
            out[spec.name] = converted
        else:
            out.pop(spec.name, None)  # proto: the last occurrence wins, and here it is "omitted"
    return out


def _map_entry(wire_type: int, raw: Any, kind_of_values: str) -> tuple[str, Any]:
    # A map entry is an embedded message {1: key, 2: value}; absent parts are the zero value.
    if wire_type != _BYTES:
        raise _Malformed("map entry is not length-delimited")
    key, value = "", ""  # "" is also the base64 form of empty bytes
    for number, entry_wire_type, item, _ in _iter_fields(raw):
        if number == 1:
            key = _scalar("string", entry_wire_type, item)
        elif number == 2:
            value = _scalar(kind_of_values, entry_wire_type, item)
    return key, value


def _fields_v1(raw: bytes) -> Any:
    for number, wire_type, value, _ in _iter_fields(raw):
        if number == 1 and wire_type == _BYTES:
            try:
                return json.loads(value)
            except ValueError as exc:
                raise _Malformed("managedFields fieldsV1 is not JSON") from exc
    return {}


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a `application/vnd.kubernetes.protobuf` request body into the object's JSON-shaped dict.

    Supports core/v1 Namespace, ConfigMap, Secret and ServiceAccount (what kubectl creates with protobuf), and
    the SelfSubjectReview and SelfSubjectAccessReview `kubectl auth whoami` and `can-i` send.
    Bytes fields (Secret `data`, ConfigMap `binaryData`) come out base64-encoded as in JSON, and unset
    fields are omitted as JSON's `omitempty` would. A body that is not a protobuf envelope, or is
    malformed, is 400 BadRequest; a kind this decoder has no schema for is 415 UnsupportedMediaType.
    """
    if not body.startswith(_MAGIC):
        raise bad_request("provided data does not appear to be a protobuf message, "
                          f"expected prefix {list(_MAGIC)}")
    try:
        envelope = _decode(body[len(_MAGIC):], _UNKNOWN)
        if envelope.get("contentEncoding"):
            raise StatusError(415, "UnsupportedMediaType",
                              f"unsupported protobuf content encoding {envelope['contentEncoding']!r}")
        type_meta = envelope.get("typeMeta", {})
        api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
        if not kind:
            raise bad_request("Object 'Kind' is missing in protobuf body")
        schema = _KINDS.get((api_version, kind))
        if schema is None:
            raise StatusError(
                415, "UnsupportedMediaType",
                f"protobuf bodies are not supported for {api_version}, Kind={kind}; "
                "send application/json instead",
            )
        raw = base64.b64decode(envelope.get("raw", ""))
        return {"apiVersion": api_version, "kind": kind, **_decode(raw, schema)}
    except _Malformed as exc:
        raise bad_request(f"unable to decode protobuf body: {exc}") from exc

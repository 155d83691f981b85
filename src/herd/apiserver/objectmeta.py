"""ObjectMeta rules shared by every kind: names, generated names, timestamps, label syntax."""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

from . import errors
from .errors import Cause

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_GENERATED_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

OBJECT_META_FIELDS = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields",
})
_OWNER_REFERENCE_FIELDS = frozenset({"apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"})


_last_timestamp: tuple[int, str] = (0, "")


def now_rfc3339() -> str:
    """The current time as Kubernetes writes timestamps (second precision, UTC, `Z`)."""
    global _last_timestamp
    second = int(time.time())
    if _last_timestamp[0] != second:  # formatting costs more than the rest of a create's metadata work
        _last_timestamp = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _last_timestamp[1]


_random_pool = bytearray()
_random_pool_lock = threading.Lock()


def new_uid() -> str:
    """A random (version 4) UUID as kube-apiserver gives every object.

    The random bytes come from the OS 4 KiB at a time rather than 16 per object: `uuid.uuid4()`'s system call
    and object cost a create ~2 µs more, and creates are the API server's busiest write.
    """
    global _random_pool
    with _random_pool_lock:  # one event loop calls this today; a second thread must not share bytes with it
        if len(_random_pool) < 16:
            _random_pool = bytearray(os.urandom(4096))
        raw = _random_pool[-16:]
        del _random_pool[-16:]
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _forget_random_pool() -> None:
    global _random_pool
    _random_pool = bytearray()


os.register_at_fork(after_in_child=_forget_random_pool)  # a forked child must not hand out its parent's UIDs


def generated_name(prefix: str) -> str:
    """`generateName` plus five random characters, as kube-apiserver forms them."""
    suffix = "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(5))
    return prefix[: 63 - 5] + suffix


def name_problem(name: str, dns_label: bool = False, path_segment: bool = False) -> str:
    """Why `name` is not a valid object name, or "" when it is. `path_segment` names (RBAC's, e.g.
    `system:discovery`) need only be usable in a URL path, as kube-apiserver validates them."""
    if not name:
        return "name or generateName is required"
    if path_segment:
        if name in (".", ".."):
            return f"may not be '{name}'"
        bad = next((c for c in "/%" if c in name), "")
        return f"may not contain '{bad}'" if bad else ""
    limit = 63 if dns_label else 253
    pattern = _DNS_LABEL if dns_label else _DNS_SUBDOMAIN
    if len(name) > limit:
        return f"must be no more than {limit} characters"
    if not pattern.match(name):
        kind = "RFC 1123 label" if dns_label else "RFC 1123 subdomain"
        return (f"a lowercase {kind} must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character")
    return ""


def _qualified_name_problem(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character")
    return ""


def metadata_causes(meta: dict[str, Any]) -> list[Cause]:
    """Syntax checks of labels, annotations, finalizers and owner references."""
    causes: list[Cause] = []
    labels = meta.get("labels")
    if labels is not None and not isinstance(labels, dict):
        causes.append(Cause("FieldValueTypeInvalid", "Invalid value: must be a map of strings", "metadata.labels"))
        labels = {}
    for key, value in (labels or {}).items():
        problem = _qualified_name_problem(str(key))
        if problem:
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{key}": {problem}', "metadata.labels"))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(Cause(
                "FieldValueInvalid",
                f'Invalid value: "{value}": a valid label must be an empty string or consist of alphanumeric '
                "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                f"metadata.labels[{key}]",
            ))
    annotations = meta.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        causes.append(Cause("FieldValueTypeInvalid", "Invalid value: must be a map of strings",
                            "metadata.annotations"))
        annotations = {}
    total = 0
    for key, value in (annotations or {}).items():
        problem = _qualified_name_problem(str(key))
        if problem:
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{key}": {problem}', "metadata.annotations"))
        if not isinstance(value, str):
            causes.append(Cause("FieldValueTypeInvalid", "Invalid value: must be a string",
                                f"metadata.annotations[{key}]"))
            continue
        total += len(key) + len(value)
    if total > 256 * 1024:
        causes.append(Cause("FieldValueTooLong", "Too long: must have at most 262144 bytes", "metadata.annotations"))
    finalizers = meta.get("finalizers")
    if finalizers is not None:
        if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
            causes.append(Cause("FieldValueTypeInvalid", "Invalid value: must be a list of strings",
                                "metadata.finalizers"))
        else:
            for i, fin in enumerate(finalizers):
                problem = _qualified_name_problem(fin)
                if problem:
                    causes.append(Cause("FieldValueInvalid", f'Invalid value: "{fin}": {problem}',
                                        f"metadata.finalizers[{i}]"))
    causes.extend(_owner_reference_causes(meta.get("ownerReferences")))
    return causes


def _owner_reference_causes(refs: Any) -> list[Cause]:
    if refs is None:
        return []
    if not isinstance(refs, list):
        return [Cause("FieldValueTypeInvalid", "Invalid value: must be a list", "metadata.ownerReferences")]
    causes: list[Cause] = []
    controllers = 0
    for i, ref in enumerate(refs):
        path = f"metadata.ownerReferences[{i}]"
        if not isinstance(ref, dict):
            causes.append(Cause("FieldValueTypeInvalid", "Invalid value: must be an object", path))
            continue
        for required in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(required):
                causes.append(Cause("FieldValueRequired", "Required value", f"{path}.{required}"))
        for key in ref:
            if key not in _OWNER_REFERENCE_FIELDS:
                causes.append(Cause("FieldValueInvalid", f'Invalid value: unknown field "{key}"', f"{path}.{key}"))
        if ref.get("controller") is True:
            controllers += 1
    if controllers > 1:
        causes.append(Cause("FieldValueInvalid", "Invalid value: Only one reference can have Controller set to true",
                            "metadata.ownerReferences"))
    return causes


def is_resource_version(value: str) -> bool:
    """Whether `value` parses as kube-apiserver parses resource versions: an unsigned 64-bit decimal."""
    return value.isascii() and value.isdigit() and int(value) < 2**64


def check_resource_version(value: str) -> None:
    """A resourceVersion a client wrote (a precondition) must be one the server could have given: 400 otherwise."""
    if value and not is_resource_version(value):
        raise errors.bad_request(f'metadata.resourceVersion: Invalid value: "{value}": strconv.ParseUint: parsing '
                                 f'"{value}": invalid syntax')

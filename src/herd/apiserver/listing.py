"""Lists: selectors, `limit`/`continue` pagination, served from the watch cache."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import errors
from .codec import query_bool
from .jsonutil import dumps, loads
from .objectmeta import is_resource_version
from .objects import served
from .resources import ResourceType
from .selectors import FieldSelector, LabelSelector, object_fields
from .storage.store import Store


@dataclass
class ListQuery:
    namespace: str = ""
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""


@dataclass
class ListPage:
    items: list[dict[str, Any]]
    revision: int
    continue_token: str = ""
    remaining: int | None = None


class Filter:
    """A compiled label + field selector for one resource type."""

    def __init__(self, rtype: ResourceType, label_selector: str, field_selector: str) -> None:
        self.rtype = rtype
        self.labels = LabelSelector.parse(label_selector)
        allowed = frozenset({"metadata.name", "metadata.namespace", *rtype.field_selectors})
        self.fields = FieldSelector.parse(field_selector, allowed)
        self.trivial = self.labels.empty() and not field_selector.strip()

    def matches(self, obj: dict[str, Any]) -> bool:
        if self.trivial:
            return True
        if not self.labels.matches((obj.get("metadata") or {}).get("labels")):
            return False
        return self.fields.matches(object_fields(obj, self.rtype.namespaced, self.rtype.field_selectors))


def _decode_continue(token: str, current_revision: int) -> tuple[int, str]:
    try:
        data = loads(base64.urlsafe_b64decode(token.encode()))
        revision, start = data["rv"], data["start"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _invalid_continue(f"continue key is not valid: {exc}") from None
    if not isinstance(revision, int) or isinstance(revision, bool) or not isinstance(start, str):
        raise _invalid_continue("continue key is not valid: the resourceVersion must be an integer and the start "
                                "key a string")
    if not 0 < revision <= current_revision:  # 0, negative, or never handed out (e.g. >= 2**64)
        raise _invalid_continue("continue key is not valid: incorrect encoded start resourceVersion "
                                "(version meta.k8s.io/v1)")
    return revision, start


def _invalid_continue(reason: str) -> errors.StatusError:
    return errors.bad_request(f"invalid continue token: {reason}")


def parse_resource_version(value: str) -> int:
    """A `resourceVersion` query value as kube-apiserver parses it (an unsigned integer; empty is 0)."""
    if value in ("", "0"):
        return 0
    if is_resource_version(value):
        return int(value)
    reason = "value out of range" if value.isascii() and value.isdigit() else "invalid syntax"
    raise errors.bad_request(f'invalid resource version: resourceVersion: Invalid value: "{value}": '
                             f'strconv.ParseUint: parsing "{value}": {reason}')


def validate_list_options(query: Mapping[str, str], current_revision: int, watch: bool = False) -> int:
    """Check LIST/GET/WATCH options as kube-apiserver does (422 ListOptions, 400 for unparsable values).

    Returns the requested resourceVersion. A list asks for a revision herd cannot serve with 504 when it is
    in the future (as kube's "Too large resource version") and 410 when an exact older one is asked for
    (herd keeps no snapshots).
    """
    if not query:  # most GETs: nothing to check
        return 0
    for flag in ("watch", "allowWatchBookmarks", "sendInitialEvents"):
        query_bool(query, flag)
    rv_text = query.get("resourceVersion", "")
    revision = parse_resource_version(rv_text)
    match = query.get("resourceVersionMatch", "")
    causes = _match_causes(match, rv_text, query, watch)
    if not watch and query.get("sendInitialEvents") is not None:
        causes.append(errors.Cause("FieldValueForbidden", "Forbidden: sendInitialEvents is forbidden for list",
                                   "sendInitialEvents"))
    if causes:
        raise errors.invalid("meta.k8s.io", "ListOptions", "", causes)
    if watch:
        return revision
    if query.get("continue") and rv_text not in ("", "0"):
        raise errors.bad_request("specifying resource version is not allowed when using continue")
    if revision > current_revision:
        raise errors.StatusError(
            504, "Timeout", f"Timeout: Too large resource version: {revision}, current: {current_revision}",
            causes=[errors.Cause("ResourceVersionTooLarge", "Too large resource version")], retry_after_seconds=1)
    if match == "Exact" and revision != current_revision:
        raise errors.gone(f"too old resource version: {revision} ({current_revision})")
    return revision


def _match_causes(match: str, rv_text: str, query: Mapping[str, str], watch: bool) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    if not match:
        return causes
    supported = ("NotOlderThan",) if watch else ("Exact", "NotOlderThan")
    if match not in supported:
        choices = ", ".join(f'"{c}"' for c in (*supported, *(() if watch else ("",))))
        causes.append(errors.Cause("FieldValueNotSupported",
                                   f'Unsupported value: "{match}": supported values: {choices}',
                                   "resourceVersionMatch"))
    if query.get("continue"):
        causes.append(errors.Cause("FieldValueForbidden",
                                   "Forbidden: resourceVersionMatch is forbidden when continue is provided",
                                   "resourceVersionMatch"))
    if watch:
        if query.get("sendInitialEvents") is None:
            causes.append(errors.Cause(
                "FieldValueForbidden",
                "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                "resourceVersionMatch"))
        return causes
    if not rv_text:
        causes.append(errors.Cause("FieldValueForbidden",
                                   "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
                                   "resourceVersionMatch"))
    if match == "Exact" and rv_text == "0":
        causes.append(errors.Cause("FieldValueForbidden",
                                   'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                                   "resourceVersionMatch"))
    return causes


def _encode_continue(revision: int, last_key: str) -> str:
    return base64.urlsafe_b64encode(dumps({"rv": revision, "start": last_key})).decode()


def list_objects(store: Store, rtype: ResourceType, query: ListQuery) -> ListPage:
    """One page of matching objects in key order.

    A continuation reads the current state after the last key it returned (the watch cache keeps
    no snapshots), answering the first page's resourceVersion as kube-apiserver does.
    """
    selector = Filter(rtype, query.label_selector, query.field_selector)
    start_after = ""
    first_revision = 0
    if query.continue_token:
        first_revision, start_after = _decode_continue(query.continue_token, store.revision)
    name = selector.fields.requirement_value("metadata.name")
    if name is not None and (query.namespace or not rtype.namespaced):
        rec = store.get(rtype.key(query.namespace, name))
        records = [rec] if rec is not None else []
        revision = store.revision
    else:
        records, revision = store.list(rtype.list_prefix(query.namespace))
    items: list[dict[str, Any]] = []
    last_key = ""
    remaining = 0
    for rec in records:
        if start_after and rec.key <= start_after:
            continue
        if not selector.matches(rec.value):
            continue
        if query.limit > 0 and len(items) >= query.limit:  # kube-apiserver ignores a negative limit
            remaining += 1
            continue
        items.append(served(rtype, rec.value))
        last_key = rec.key
    page = ListPage(items, first_revision or revision)
    if remaining:
        page.continue_token = _encode_continue(page.revision, last_key)
        page.remaining = remaining
    return page

"""Lists: selectors, `limit`/`continue` pagination, served from the watch cache."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from . import errors
from .jsonutil import dumps, loads
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


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        data = loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None


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
        first_revision, start_after = _decode_continue(query.continue_token)
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
        if query.limit and len(items) >= query.limit:
            remaining += 1
            continue
        items.append(served(rtype, rec.value))
        last_key = rec.key
    page = ListPage(items, first_revision or revision)
    if remaining:
        page.continue_token = _encode_continue(page.revision, last_key)
        page.remaining = remaining
    return page

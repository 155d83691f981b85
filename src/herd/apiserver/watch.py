"""Watch: a chunked stream of JSON lines, one `{"type", "object"}` event per line."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import HttpVersion11, web

from . import errors
from .codec import JSON, int_param, query_bool, wants_table
from .jsonutil import dumps
from .listing import Filter, validate_list_options
from .objects import served
from .resources import ResourceType
from .storage.base import CompactedError, WatchEvent
from .storage.store import Store
from .table import BUILTIN_COLUMNS, ColumnSpec, crd_columns, to_table

BOOKMARK_INTERVAL_SECONDS = 5.0
DEFAULT_TIMEOUT_SECONDS = 1800
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _columns(rtype: ResourceType) -> list[ColumnSpec]:
    if rtype.builtin:
        return BUILTIN_COLUMNS.get(rtype.plural) or crd_columns([])
    return crd_columns([dict(c) for c in rtype.printer_columns])


class _EventWriter:
    def __init__(self, response: web.StreamResponse, rtype: ResourceType, table: bool, include: str) -> None:
        self.response = response
        self.rtype = rtype
        self.table = table
        self.include = include
        self.columns = _columns(rtype) if table else []

    async def send(self, event_type: str, obj: dict[str, Any]) -> None:
        shown = served(self.rtype, obj)
        if self.table and event_type in ("ADDED", "MODIFIED", "DELETED"):
            shown = to_table([shown], self.columns,
                             list_metadata={"resourceVersion": shown["metadata"].get("resourceVersion", "")},
                             include_object=self.include)
        await self.response.write(dumps({"type": event_type, "object": shown}) + b"\n")

    async def bookmark(self, revision: int, initial_end: bool = False) -> None:
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        await self.response.write(dumps({"type": "BOOKMARK", "object": {
            "kind": self.rtype.kind, "apiVersion": self.rtype.api_version, "metadata": meta}}) + b"\n")

    async def error(self, exc: errors.StatusError) -> None:
        await self.response.write(dumps({"type": "ERROR", "object": exc.to_status()}) + b"\n")


def _translate(event: WatchEvent, selector: Filter) -> tuple[str, dict[str, Any]] | None:
    """Selector-aware event type: objects entering or leaving the selection appear ADDED/DELETED."""
    if selector.trivial:
        return event.type, event.value
    now = event.type != "DELETED" and selector.matches(event.value)
    before = event.prev_value is not None and selector.matches(event.prev_value)
    if event.type == "DELETED":
        return ("DELETED", event.value) if (before or selector.matches(event.value)) else None
    if event.type == "ADDED":
        return ("ADDED", event.value) if now else None
    if now and before:
        return "MODIFIED", event.value
    if now:
        return "ADDED", event.value
    if before:
        return "DELETED", event.value
    return None


async def serve_watch(request: web.BaseRequest, store: Store, rtype: ResourceType,
                      namespace: str) -> web.StreamResponse:
    """Stream events for one resource type (and namespace) until timeout or disconnect."""
    query = request.query
    selector = Filter(rtype, query.get("labelSelector", ""), query.get("fieldSelector", ""))
    rv = query.get("resourceVersion", "")
    send_initial = bool(query_bool(query, "sendInitialEvents"))
    bookmarks = bool(query_bool(query, "allowWatchBookmarks"))
    timeout = int_param(query, "timeoutSeconds", DEFAULT_TIMEOUT_SECONDS) or DEFAULT_TIMEOUT_SECONDS
    if send_initial and query.get("resourceVersionMatch") not in ("NotOlderThan",):
        raise errors.invalid("meta.k8s.io", "ListOptions", "", [errors.Cause(
            "FieldValueForbidden", "Forbidden: sendInitialEvents requires resourceVersionMatch=NotOlderThan",
            "sendInitialEvents")])
    validate_list_options(query, store.revision, watch=True)
    prefix = rtype.list_prefix(namespace)
    initial: list[dict[str, Any]] = []
    compacted: CompactedError | None = None
    if send_initial or rv in ("", "0"):
        records, start = store.list(prefix)  # list and watch registration happen with no await between
        initial = [r.value for r in records if selector.matches(r.value)]
        stream = store.watch(prefix, start)
    else:
        start = int(rv)
        if start > store.revision:  # e.g. the data was lost: the events in between would be skipped silently
            raise errors.StatusError(
                504, "Timeout", f"Timeout: Too large resource version: {start}, current: {store.revision}",
                causes=[errors.Cause("ResourceVersionTooLarge", "Too large resource version")],
                retry_after_seconds=1)
        try:
            stream = store.watch(prefix, start)
        except CompactedError as exc:
            compacted = exc
    response = web.StreamResponse(headers={"Content-Type": JSON, "Cache-Control": "no-cache, private"})
    if request.version >= HttpVersion11:
        response.enable_chunked_encoding()
    else:  # HTTP/1.0 has no chunked encoding: the stream ends when the connection closes
        response.force_close()
    await response.prepare(request)
    writer = _EventWriter(response, rtype, wants_table(request.headers.get("Accept")),
                          query.get("includeObject", "Metadata"))
    if compacted is not None:
        with contextlib.suppress(ConnectionError):
            await writer.error(errors.gone(f"too old resource version: {compacted.requested} "
                                           f"({compacted.oldest})"))
        return response
    try:
        for obj in initial:
            await writer.send("ADDED", obj)
        if send_initial and bookmarks:
            await writer.bookmark(start, initial_end=True)
        await _pump(stream, writer, selector, store, timeout, bookmarks, start)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        stream.close()
    return response


async def _pump(stream: Any, writer: _EventWriter, selector: Filter, store: Store, timeout: int,
                bookmarks: bool, start: int) -> None:
    deadline = time.monotonic() + timeout
    events = stream.__aiter__()
    # a bookmark never goes back before the watch's start: a list's revision may not be dispatched yet
    last_sent = start
    pending: asyncio.Task[WatchEvent] | None = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            wait = min(remaining, BOOKMARK_INTERVAL_SECONDS) if bookmarks else remaining
            if pending is None:
                pending = asyncio.ensure_future(events.__anext__())
            # wait without cancelling the pending read, so no event is lost on a bookmark tick
            done, _ = await asyncio.wait({pending}, timeout=wait)
            if not done:
                if bookmarks:
                    await writer.bookmark(max(store.dispatched_revision, last_sent))
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            translated = _translate(event, selector)
            last_sent = event.revision
            if translated is not None:
                await writer.send(*translated)
    finally:
        if pending is not None:
            pending.cancel()

"""Recording core/v1 Events about the objects controllers act on, as client-go's event recorder writes them.

`kubectl describe` lists the Events whose `involvedObject` is the object described; this writes those. Like
client-go's correlator, it keeps the store from filling up when something happens over and over:

- an Event identical to one already written (same source, object, type, reason and message) is not written
  again: the existing one gets `count` + 1 and a new `lastTimestamp` by a PATCH;
- after `SIMILAR_LIMIT` Events of one object with the same type and reason but different messages within
  `SIMILAR_WINDOW` seconds, later ones are folded into one Event "(combined from similar events): <latest message>";
- each object has a token bucket (`burst` Events, then one more every `refill_seconds`); Events beyond it are
  dropped, so a hot loop costs at most a bounded number of writes.

Recording never fails the caller: a write that fails or takes longer than `timeout` is logged at debug level and
forgotten. The bookkeeping lives in memory and is bounded (`CACHE_SIZE` entries per recorder, least recently used
dropped first).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from .client import Client
from .errors import ApiError, NotFound
from .objects import EVENT, Object

log = logging.getLogger(__name__)

NORMAL: Final = "Normal"
WARNING: Final = "Warning"
EventType = Literal["Normal", "Warning"]

CACHE_SIZE = 4096
SIMILAR_LIMIT = 10
SIMILAR_WINDOW = 600.0
COMBINED_PREFIX = "(combined from similar events): "
_MAX_NAME = 253


@dataclass
class _Written:
    """An Event already in the store, so a repeat becomes a PATCH of its count."""

    name: str
    namespace: str
    count: int
    first_timestamp: str


@dataclass
class _Similar:
    """Distinct messages seen for one (object, type, reason) since `since`."""

    since: float
    messages: set[str]


@dataclass
class _Bucket:
    tokens: float
    at: float


class _Lru(OrderedDict[tuple[str, ...], Any]):
    """A dict that forgets its least recently used entries beyond `limit`."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def touch(self, key: tuple[str, ...], value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


def _timestamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def involved_object(obj: Object) -> dict[str, str]:
    """The `involvedObject` reference to `obj` (which must carry apiVersion and kind)."""
    meta = obj.get("metadata") or {}
    ref = {"kind": str(obj.get("kind") or ""), "namespace": str(meta.get("namespace") or ""),
           "name": str(meta.get("name") or ""), "uid": str(meta.get("uid") or ""),
           "apiVersion": str(obj.get("apiVersion") or ""), "resourceVersion": str(meta.get("resourceVersion") or "")}
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    """Writes Events from one component (e.g. "machineset-controller") through `client`."""

    def __init__(self, client: Client, component: str, *, host: str = "", burst: int = 25,
                 refill_seconds: float = 300.0, timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.timeout = timeout
        self.clock = clock
        self._written = _Lru(CACHE_SIZE)
        self._similar = _Lru(CACHE_SIZE)
        self._buckets = _Lru(CACHE_SIZE)

    async def normal(self, obj: Object, reason: str, message: str) -> None:
        await self.event(obj, NORMAL, reason, message)

    async def warning(self, obj: Object, reason: str, message: str) -> None:
        await self.event(obj, WARNING, reason, message)

    async def event(self, obj: Object, event_type: EventType, reason: str, message: str) -> None:
        """Record that `reason` happened to `obj`; returns once written, dropped or failed (never raises)."""
        try:
            async with asyncio.timeout(self.timeout):
                await self._record(obj, event_type, reason, message)
        except Exception as exc:  # an Event is a courtesy to the reader: it never fails the reconcile
            ref = involved_object(obj)
            log.debug("event %s for %s %s/%s not recorded: %s", reason, ref.get("kind"), ref.get("namespace"),
                      ref.get("name"), exc)

    async def _record(self, obj: Object, event_type: EventType, reason: str, message: str) -> None:
        now = self.clock()
        ref = involved_object(obj)
        object_key = (self.component, self.host, ref.get("kind", ""), ref.get("namespace", ""),
                      ref.get("name", ""), ref.get("uid", ""), ref.get("apiVersion", ""))
        if not self._allow(object_key, now):
            log.debug("event %s for %s %s dropped: too many events for this object", reason, ref.get("kind"),
                      ref.get("name"))
            return
        message, key = self._combine_similar((*object_key, event_type, reason), message, now)
        written = self._written.get(key)
        if written is not None:
            written.count += 1
            self._written.touch(key, written)
            patch = {"count": written.count, "lastTimestamp": _timestamp(now), "message": message}
            try:
                await self.client.patch(EVENT, written.name, patch, namespace=written.namespace)
                return
            except NotFound:  # expired (kube-apiserver keeps Events an hour): write a new one
                self._written.pop(key, None)
        event = self._new_event(ref, event_type, reason, message, now)
        self._written.touch(key, _Written(event["metadata"]["name"], event["metadata"]["namespace"], 1,
                                          event["firstTimestamp"]))
        try:
            await self.client.create(event, kind=EVENT)
        except BaseException:
            self._written.pop(key, None)  # never written: a repeat must create, not patch
            raise

    def _allow(self, object_key: tuple[str, ...], now: float) -> bool:
        """Take a token from the object's bucket (client-go's spam filter); False when it is empty."""
        bucket = self._buckets.get(object_key) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) / self.refill_seconds)
        bucket.at = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        self._buckets.touch(object_key, bucket)
        return allowed

    def _combine_similar(self, similar_key: tuple[str, ...], message: str,
                         now: float) -> tuple[str, tuple[str, ...]]:
        """The message to record and the key of the Event it repeats: once the object had too many similar
        ones lately, the combined form, which every further similar one repeats whatever its message."""
        similar = self._similar.get(similar_key)
        if similar is None or now - similar.since > SIMILAR_WINDOW:
            similar = _Similar(now, set())
        if len(similar.messages) < SIMILAR_LIMIT:  # enough to know; more would only grow the set
            similar.messages.add(message)
        self._similar.touch(similar_key, similar)
        if len(similar.messages) < SIMILAR_LIMIT:
            return message, (*similar_key, message)
        return COMBINED_PREFIX + message, (*similar_key, COMBINED_PREFIX)

    def _new_event(self, ref: dict[str, str], event_type: EventType, reason: str, message: str,
                   now: float) -> Object:
        suffix = f".{time.time_ns():x}"
        name = ref.get("name", "event")[: _MAX_NAME - len(suffix)] + suffix
        stamp = _timestamp(now)
        source = {"component": self.component, **({"host": self.host} if self.host else {})}
        return {
            "apiVersion": "v1", "kind": "Event",
            # Events about cluster-scoped objects live in "default", as client-go puts them.
            "metadata": {"name": name, "namespace": ref.get("namespace") or "default"},
            "involvedObject": ref, "reason": reason, "message": message, "type": event_type,
            "source": source, "count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "reportingComponent": self.component, "reportingInstance": self.host,
        }


def error_text(exc: BaseException) -> str:
    """What an Event says of an error: the server's message for an API error (not its code and reason), else the
    exception's text."""
    return exc.message if isinstance(exc, ApiError) and exc.message else str(exc) or type(exc).__name__


_RECORDERS: weakref.WeakKeyDictionary[Client, dict[str, EventRecorder]] = weakref.WeakKeyDictionary()


def recorder_for(client: Client, component: str) -> EventRecorder:
    """The recorder of `component` writing through `client`, one per pair so its bookkeeping is shared by every
    reconcile of that controller."""
    recorders = _RECORDERS.setdefault(client, {})
    recorder = recorders.get(component)
    if recorder is None:
        recorder = recorders[component] = EventRecorder(client, component)
    return recorder

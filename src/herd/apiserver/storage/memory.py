"""In-memory storage pieces: a backend that persists nothing, and the key index of the watch cache."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from herd.apiserver.storage.base import LoadedState, Record, Row, StorageError

_BUCKET_SLASHES = 4  # "/registry/<group>/<resource>/" ends at the fourth slash


def _bucket(key: str) -> str:
    """The per-resource index a key (or list prefix) belongs to; "" when it is shorter than that."""
    pos = -1
    for _ in range(_BUCKET_SLASHES):
        pos = key.find("/", pos + 1)
        if pos < 0:
            return ""
    return key[: pos + 1]


class MemoryBackend:
    """Implements `Backend` without durability: every start is a fresh, empty store."""

    def __init__(self) -> None:
        self._closed = False

    def load(self, window: int) -> LoadedState:
        """Return the empty state."""
        return LoadedState(current=[], recent=[], revision=0, compacted_revision=0)

    async def append(self, rows: list[Row]) -> None:
        """Accept rows without keeping them; the watch cache holds everything a reader can see."""
        if self._closed:
            raise StorageError("memory backend is closed")

    async def reserve(self, revision: int, *, clean: bool = False) -> None:
        """Nothing survives a restart, so no revision can be reused after one."""

    async def compact(self, revision: int) -> None:
        """Nothing to compact."""

    async def close(self) -> None:
        """Refuse further appends."""
        self._closed = True


class KeyIndex:
    """Current records by key, plus a sorted key list per resource so lists never scan other resources."""

    def __init__(self) -> None:
        self.items: dict[str, Record] = {}
        self.buckets: dict[str, list[str]] = {}

    def load(self, records: Iterable[Record]) -> None:
        """Bulk insert, sorting each bucket once instead of inserting keys one by one."""
        for rec in records:
            if rec.key not in self.items:
                self.buckets.setdefault(_bucket(rec.key), []).append(rec.key)
            self.items[rec.key] = rec
        for keys in self.buckets.values():
            keys.sort()

    def put(self, rec: Record) -> None:
        """Insert or replace the record of `rec.key`."""
        if rec.key not in self.items:
            bisect.insort(self.buckets.setdefault(_bucket(rec.key), []), rec.key)
        self.items[rec.key] = rec

    def remove(self, key: str) -> None:
        """Drop `key`, which must be present."""
        del self.items[key]
        name = _bucket(key)
        keys = self.buckets[name]
        del keys[bisect.bisect_left(keys, key)]
        if not keys:
            del self.buckets[name]

    def scan(self, prefix: str) -> list[Record]:
        """Records whose key starts with `prefix`, sorted by key."""
        name = _bucket(prefix)
        if name:
            return self._scan_bucket(name, prefix)
        # Buckets never prefix one another, so bucket order is key order; "" needs a merge.
        out: list[Record] = []
        for bucket in sorted(b for b in self.buckets if b and b.startswith(prefix)):
            out.extend(self._scan_bucket(bucket, prefix))
        short = self._scan_bucket("", prefix)
        if short:
            out.extend(short)
            out.sort(key=lambda r: r.key)
        return out

    def _scan_bucket(self, name: str, prefix: str) -> list[Record]:
        keys = self.buckets.get(name)
        if not keys:
            return []
        out: list[Record] = []
        i = bisect.bisect_left(keys, prefix)
        while i < len(keys) and keys[i].startswith(prefix):
            out.append(self.items[keys[i]])
            i += 1
        return out

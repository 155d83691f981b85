"""Throughput of the storage layer on SqliteBackend: creates/s with concurrent writers, and gets/s.

Run: .venv/bin/python bench/storage.py [--objects 10000] [--writers 50]
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import tempfile
import time
from typing import Any

from herd.apiserver.storage import SqliteBackend, Store


def make_object(i: int) -> dict[str, Any]:
    """A pod-like object of roughly 1 KiB once encoded."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"obj-{i}", "namespace": "bench", "labels": {"app": "bench", "index": str(i)}},
        "data": {"payload": "x" * 860},
    }


async def run(objects: int, writers: int) -> None:
    """Create `objects` objects with `writers` concurrent writers, then read each back many times."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(SqliteBackend(pathlib.Path(tmp) / "bench.db"))
        await store.start()
        keys = [f"/registry/core/configmaps/bench/obj-{i}" for i in range(objects)]

        async def writer(start: int) -> None:
            for i in range(start, objects, writers):
                await store.create(keys[i], make_object(i))

        began = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        elapsed = time.perf_counter() - began
        print(f"creates: {objects} in {elapsed:.2f}s = {objects / elapsed:,.0f}/s ({writers} writers)")

        rounds = 20
        began = time.perf_counter()
        for _ in range(rounds):
            for key in keys:
                store.get(key)
        elapsed = time.perf_counter() - began
        print(f"gets: {rounds * objects / elapsed:,.0f}/s")

        began = time.perf_counter()
        items, _ = store.list("/registry/core/configmaps/bench/")
        print(f"list of {len(items)}: {(time.perf_counter() - began) * 1000:.1f} ms")
        await store.close()


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.objects, args.writers))


if __name__ == "__main__":
    main()

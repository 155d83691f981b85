"""CPU per create and per update of a ~1 KiB custom resource in `Objects` (no HTTP, memory storage).

Measures what server-side apply bookkeeping (managedFields on every write) adds to the write path:
run it on two checkouts, or on one with and without the bookkeeping (`--without`, which turns
`Objects._track_fields` into a no-op). Usage: python bench/managed_fields_cpu.py [creates] [--without]
"""

from __future__ import annotations

import asyncio
import copy
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apiserver import CRD, GROUP, gadget

from herd.apiserver.builtins import BUILTIN_TYPES, CRDS, NAMESPACES
from herd.apiserver.controllers.crd_lifecycle import CRDLifecycle
from herd.apiserver.objects import Objects, WriteOptions
from herd.apiserver.registry import Registry
from herd.apiserver.storage.memory import MemoryBackend
from herd.apiserver.storage.store import Store


def _options() -> WriteOptions:
    options = WriteOptions()
    if hasattr(options, "user_agent"):
        options.user_agent = "bench/1.0"  # a client's write, not the server's own
    return options


async def measure(count: int) -> tuple[float, float]:
    """CPU seconds per create and per update (one field changed) of `count` custom resources."""
    store = Store(MemoryBackend())
    await store.start()
    registry = Registry(BUILTIN_TYPES)
    objects = Objects(store, registry)
    CRDLifecycle(objects, registry)  # serves the CRD's type as soon as it is stored
    await objects.create(CRDS, "", copy.deepcopy(CRD), WriteOptions())
    rtype = registry.by_kind(GROUP, "v1", "Gadget")
    assert rtype is not None
    if store.get(NAMESPACES.key("", "default")) is None:
        await objects.create(NAMESPACES, "", {"metadata": {"name": "default"}}, WriteOptions())
    bodies: list[dict[str, Any]] = [gadget(f"g-{i}") for i in range(count)]
    started = time.process_time()
    for body in bodies:
        await objects.create(rtype, "default", body, _options())
    create_cpu = (time.process_time() - started) / count

    def bump(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["size"] += 1
        return obj

    started = time.process_time()
    for i in range(count):
        await objects.guaranteed_update(rtype, "default", f"g-{i}", bump, _options())
    update_cpu = (time.process_time() - started) / count
    await store.close()
    return create_cpu, update_cpu


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--without"]
    count = int(args[0]) if args else 3000
    if "--without" in sys.argv:
        Objects._track_fields = staticmethod(lambda rtype, old, new, opts, subresource: new)  # type: ignore[method-assign]
    runs = [asyncio.run(measure(count)) for _ in range(3)]
    create, update = min(r[0] for r in runs), min(r[1] for r in runs)
    print(f"create {create * 1e6:.0f} µs CPU, update {update * 1e6:.0f} µs CPU (best of 3 runs of {count})")


if __name__ == "__main__":
    main()

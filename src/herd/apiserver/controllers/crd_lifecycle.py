"""Keeps the served resource set in step with CRDs, and empties a CRD's resources when it is deleted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ..builtins import CRDS
from ..crds import CLEANUP_FINALIZER, is_established, types_from_crd
from ..deletion import delete_object, remove_finalizer
from ..errors import StatusError
from ..objects import Objects, WriteOptions
from ..registry import Registry

log = logging.getLogger(__name__)


class CRDLifecycle:
    """Registers a CRD's types as soon as it is Established; on deletion removes every instance first."""

    def __init__(self, objects: Objects, registry: Registry) -> None:
        self.objects = objects
        self.registry = registry
        self._cleanups: dict[str, asyncio.Task[None]] = {}
        objects.on_crd_written = self.crd_written

    def load_existing(self) -> None:
        records, _ = self.objects.store.list(CRDS.storage_prefix)
        for rec in records:
            self.crd_written(rec.value, False)

    def crd_written(self, crd: dict[str, Any], deleted: bool = False) -> None:
        name = crd["metadata"]["name"]
        if deleted:
            served = self.registry.by_group_resource(crd["spec"]["group"], crd["spec"]["names"]["plural"])
            self.registry.replace_owned(name, [])
            for rtype in served[:1]:  # every version shares one storage prefix
                # as kube-apiserver does, watches of a resource no longer served end (clients see the stream close)
                self.objects.store.end_watches(rtype.storage_prefix)
            return
        if is_established(crd):
            self.registry.replace_owned(name, types_from_crd(crd))
        if crd["metadata"].get("deletionTimestamp") and name not in self._cleanups:
            self._cleanups[name] = asyncio.ensure_future(self._cleanup(crd))

    async def _cleanup(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        try:
            types = types_from_crd(crd) or self.registry.by_group_resource(
                crd["spec"]["group"], crd["spec"]["names"]["plural"])
            if types:
                rtype = types[0]
                while True:
                    records, revision = self.objects.store.list(rtype.storage_prefix)
                    if not records:
                        break
                    for rec in records:
                        meta = rec.value["metadata"]
                        with contextlib.suppress(StatusError):
                            await delete_object(self.objects, rtype, meta.get("namespace", ""), meta["name"],
                                                {}, WriteOptions())
                    await self._wait_for_change(rtype.storage_prefix, revision)
            if CLEANUP_FINALIZER in (crd["metadata"].get("finalizers") or []):
                await remove_finalizer(self.objects, CRDS, "", name, CLEANUP_FINALIZER)
            if self.objects.store.get(CRDS.key("", name)) is None:
                self.crd_written(crd, deleted=True)
        except Exception:  # a failed cleanup must not kill the server; it is retried on the next write
            log.exception("cleaning up custom resources of %s failed", name)
        finally:
            self._cleanups.pop(name, None)

    async def _wait_for_change(self, prefix: str, revision: int) -> None:
        watch = self.objects.store.watch(prefix, revision)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    async for _ in watch:
                        break
        finally:
            watch.close()

    async def close(self) -> None:
        for task in list(self._cleanups.values()):
            task.cancel()
        self._cleanups.clear()

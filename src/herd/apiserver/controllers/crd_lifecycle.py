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
from ..jsonutil import clone
from ..objects import Objects, WriteOptions
from ..registry import Registry
from ..schema.defaulting import apply_defaults
from ..schema.node import compiled

log = logging.getLogger(__name__)


class CRDLifecycle:
    """Registers a CRD's types as soon as it is Established; on deletion removes every instance first."""

    def __init__(self, objects: Objects, registry: Registry) -> None:
        self.objects = objects
        self.registry = registry
        self._cleanups: dict[str, asyncio.Task[None]] = {}
        self._defaulted_with: dict[str, dict[str, Any]] = {}  # CRD name -> storage schema its objects show
        objects.on_crd_written = self.crd_written

    def load_existing(self) -> None:
        records, _ = self.objects.store.list(CRDS.storage_prefix)
        for rec in records:
            self.crd_written(rec.value, False)

    def crd_written(self, crd: dict[str, Any], deleted: bool = False) -> None:
        name = crd["metadata"]["name"]
        if deleted:
            self._defaulted_with.pop(name, None)
            served = self.registry.by_group_resource(crd["spec"]["group"], crd["spec"]["names"]["plural"])
            self.registry.replace_owned(name, [])
            if served:  # as kube-apiserver does, watches of a resource no longer served end (the stream closes)
                self.objects.store.end_watches(served[0].storage_prefix)  # one prefix for every version
            return
        if is_established(crd):
            types = types_from_crd(crd)
            self.registry.replace_owned(name, types)
            if types:
                self._default_stored_objects(crd, types[0].storage_prefix)
        if crd["metadata"].get("deletionTimestamp") and name not in self._cleanups:
            self._cleanups[name] = asyncio.ensure_future(self._cleanup(crd))

    def _default_stored_objects(self, crd: dict[str, Any], prefix: str) -> None:
        """Stored objects as kube-apiserver reads them from storage: with the defaults of the schema of the
        version they are stored in. Run when the storage version's schema changes (and once at start), so a
        default a CRD update adds shows on objects written before it; only the cache changes (see
        `Store.show_as_read`), as kube's watch cache decodes the same rows again."""
        name = crd["metadata"]["name"]
        spec = crd.get("spec") or {}
        storage = next((v for v in spec.get("versions") or [] if v.get("storage")), None)
        schema = ((storage or {}).get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict) or self._defaulted_with.get(name) == schema:
            return
        self._defaulted_with[name] = schema
        if not compiled(schema).has_defaults:
            return
        api_version = f"{spec.get('group', '')}/{(storage or {}).get('name', '')}"
        records, _ = self.objects.store.list(prefix)
        for rec in records:
            if rec.value.get("apiVersion") != api_version:
                continue  # written in another version: that version's defaults applied when it was written
            value = clone(rec.value)
            apply_defaults(value, schema)
            if value != rec.value:
                self.objects.store.show_as_read(rec, value)

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

"""An async client for unstructured objects (plain dicts), a thin layer over lightkube's `AsyncClient`.

Every kind, built-in or custom, is addressed through a lightkube generic resource class made from a
`Kind`, so objects come back as the JSON the server sent. Errors become the typed exceptions of
`herd.runtime.errors`.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx2
import lightkube
import orjson
from lightkube import generic_resource
from lightkube.core import resource as lk_resource
from lightkube.core.generic_client import ALL_NS
from lightkube.types import CascadeType, PatchType

from .discovery import RESTMapper
from .errors import ApiError, ClientError, Unreachable, error_from_status
from .objects import Kind, Object, ObjectKey

PatchKind = Literal["merge", "json", "strategic", "apply"]
_PATCH_TYPES: dict[str, PatchType] = {
    "merge": PatchType.MERGE, "json": PatchType.JSON, "strategic": PatchType.STRATEGIC, "apply": PatchType.APPLY,
}
_CASCADE = {"Background": CascadeType.BACKGROUND, "Foreground": CascadeType.FOREGROUND, "Orphan": CascadeType.ORPHAN}
DEFAULT_FIELD_MANAGER = "herd"


@dataclass(frozen=True)
class ObjectList:
    """The items of a list call and the resourceVersion to watch from."""

    items: builtins.list[Object]
    resource_version: str


@dataclass(frozen=True)
class WatchEvent:
    """One watch event: ADDED, MODIFIED, DELETED or BOOKMARK, with the object as sent."""

    type: str
    object: Object


@contextmanager
def _translated() -> Iterator[None]:
    """Turn lightkube/httpx failures into herd.runtime.errors."""
    try:
        yield
    except lightkube.ApiError as exc:
        if exc.response is not None:
            raise error_from_status(exc.response.status_code, _json_or_text(exc.response.content)) from exc
        raise error_from_status(exc.status.code or 500, exc.status.to_dict()) from exc
    except httpx2.HTTPStatusError as exc:  # lightkube only decodes bodies served exactly as application/json
        raise error_from_status(exc.response.status_code, _json_or_text(exc.response.content)) from exc
    except httpx2.TransportError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc


def _json_or_text(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode(errors="replace")[:500]


def _plain(obj: Any) -> Object:
    """lightkube's generic objects are dict subclasses: hand out plain dicts."""
    return dict(obj)


class Client:
    """Get, list, create, update, patch, delete and watch objects of any kind, as dicts.

    Methods taking a `kind` accept a `Kind`; methods taking an object find its kind from its
    `apiVersion`/`kind` through discovery (cached), so provider objects referenced only by
    apiVersion/kind need no registration.
    """

    def __init__(self, lightkube_client: lightkube.AsyncClient, *, field_manager: str = DEFAULT_FIELD_MANAGER) -> None:
        self._lk = lightkube_client
        self.field_manager = field_manager
        # lightkube has no discovery nor raw watch API: those use its httpx client, with the same auth and TLS
        self._generic: Any = lightkube_client._client
        self.mapper = RESTMapper(self._generic._client)
        self._classes: dict[Kind, Any] = {}
        self._write_observers: list[Callable[[Kind, Object], None]] = []

    @classmethod
    def from_kubeconfig(cls, path: str | Path | None = None, *, context: str | None = None,
                        field_manager: str = DEFAULT_FIELD_MANAGER, timeout: float = 30.0,
                        trust_env: bool = False) -> Client:
        """A client for the kubeconfig at `path` (default: in-cluster service account, $KUBECONFIG, ~/.kube/config).

        `trust_env` lets proxy and CA variables of the environment apply to the connection.
        """
        config = lightkube.KubeConfig.from_file(path) if path is not None else lightkube.KubeConfig.from_env()
        single = config.get(context)
        lk = lightkube.AsyncClient(single, timeout=httpx2.Timeout(timeout), field_manager=field_manager,
                                   trust_env=trust_env)
        return cls(lk, field_manager=field_manager)

    @property
    def server(self) -> str:
        """The API server's URL."""
        return str(self._lk.config.cluster.server)

    async def close(self) -> None:
        """Close every connection."""
        await self._lk.close()

    def observe_writes(self, observer: Callable[[Kind, Object], None]) -> None:
        """Call `observer(kind, object)` with what the server answered to each create, update and patch."""
        self._write_observers.append(observer)

    def _written(self, kind: Kind, obj: Object) -> Object:
        for observer in self._write_observers:
            observer(kind, obj)
        return obj

    # ----- kinds -----

    def _resource(self, kind: Kind) -> Any:
        found = self._classes.get(kind)
        if found is None:
            found = self._classes[kind] = _generic_class(kind)
        return found

    async def kind_of(self, obj: Object) -> Kind:
        """The Kind of an object, from its apiVersion and kind (discovery is cached)."""
        return await self.mapper.kind_for(obj["apiVersion"], obj["kind"])

    async def _kind(self, obj: Object, kind: Kind | None) -> Kind:
        return kind if kind is not None else await self.kind_of(obj)

    @staticmethod
    def _namespace(kind: Kind, namespace: str | None) -> str | None:
        if not kind.namespaced:
            return None
        if not namespace:
            raise ValueError(f"{kind} is namespaced: a namespace is required")
        return namespace

    # ----- reads -----

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> Object:
        """The object; raises NotFound."""
        with _translated():
            return _plain(await self._lk.get(self._resource(kind), name, namespace=self._namespace(kind, namespace)))

    async def get_by_key(self, kind: Kind, key: ObjectKey) -> Object:
        return await self.get(kind, key.name, key.namespace or None)

    async def list(self, kind: Kind, *, namespace: str | None = None, label_selector: str | None = None,
                   field_selector: str | None = None, page_size: int | None = None) -> ObjectList:
        """Every matching object (all namespaces when `namespace` is None) and the list's resourceVersion.

        Without `page_size` the list is one request: on herd, only an unpaginated list is a snapshot.
        """
        res = self._resource(kind)
        params = {"limit": page_size, "labelSelector": label_selector, "fieldSelector": field_selector}
        ns = (namespace or ALL_NS) if kind.namespaced else None
        # lightkube's list() takes selectors as dicts only; its request builder takes them verbatim
        br = self._generic.prepare_request("list", res=res, namespace=ns, params=params)
        items: builtins.list[Object] = []
        first_rv: str | None = None
        with _translated():
            async for rv, chunk in self._generic.list_chunks(br):
                if first_rv is None:  # later pages answer the first page's resourceVersion
                    first_rv = rv or ""
                items.extend(_plain(item) for item in chunk)
        return ObjectList(items, first_rv or "")

    # ----- writes -----

    async def create(self, obj: Object, *, kind: Kind | None = None, dry_run: bool = False) -> Object:
        """Create the object; raises AlreadyExists, Invalid, …"""
        kind = await self._kind(obj, kind)
        self._namespace(kind, obj.get("metadata", {}).get("namespace"))  # lightkube takes it from the object
        with _translated():
            created = _plain(await self._lk.create(self._resource(kind)(obj), dry_run=dry_run))
        return created if dry_run else self._written(kind, created)

    async def update(self, obj: Object, *, kind: Kind | None = None) -> Object:
        """Replace the object (PUT); its metadata.resourceVersion guards against lost updates (Conflict)."""
        kind = await self._kind(obj, kind)
        self._namespace(kind, obj.get("metadata", {}).get("namespace"))  # lightkube takes it from the object
        with _translated():
            return self._written(kind, _plain(await self._lk.replace(self._resource(kind)(obj))))

    async def update_status(self, obj: Object, *, kind: Kind | None = None) -> Object:
        """Replace the object's status through the status subresource."""
        kind = await self._kind(obj, kind)
        meta = obj.get("metadata", {})
        namespace = self._namespace(kind, meta.get("namespace"))
        with _translated():
            replaced = _plain(await self._lk.replace(self._resource(kind).Status(obj), meta["name"],
                                                     namespace=namespace))
        return self._written(kind, replaced)

    async def patch(self, kind: Kind, name: str, patch: Mapping[str, Any] | Sequence[Any], *,
                    namespace: str | None = None, patch_type: PatchKind = "merge", force: bool = False,
                    field_manager: str | None = None, status: bool = False) -> Object:
        """Patch the object (or its status subresource when `status`); `apply` is server-side apply."""
        res = self._resource(kind)
        with _translated():
            patched = _plain(await self._lk.patch(
                res.Status if status else res, name, patch, namespace=self._namespace(kind, namespace),
                patch_type=_PATCH_TYPES[patch_type], force=force,
                field_manager=field_manager or (self.field_manager if patch_type == "apply" else None)))
        return self._written(kind, patched)

    async def patch_status(self, kind: Kind, name: str, patch: Mapping[str, Any] | Sequence[Any], *,
                           namespace: str | None = None, patch_type: PatchKind = "merge") -> Object:
        """Patch the status subresource."""
        return await self.patch(kind, name, patch, namespace=namespace, patch_type=patch_type, status=True)

    async def apply(self, obj: Object, *, kind: Kind | None = None, force: bool = False,
                    field_manager: str | None = None) -> Object:
        """Server-side apply of the fields set in `obj`, as `field_manager` (default: the client's)."""
        kind = await self._kind(obj, kind)
        meta = obj.get("metadata", {})
        return await self.patch(kind, meta["name"], obj, namespace=meta.get("namespace"), patch_type="apply",
                                force=force, field_manager=field_manager)

    async def delete(self, kind: Kind, name: str, namespace: str | None = None, *,
                     propagation_policy: Literal["Background", "Foreground", "Orphan"] | None = None,
                     grace_period: int | None = None) -> None:
        """Delete the object (finalizers may keep it, with a deletionTimestamp); raises NotFound."""
        with _translated():
            await self._lk.delete(self._resource(kind), name, namespace=self._namespace(kind, namespace),
                                  grace_period=grace_period,
                                  cascade=_CASCADE[propagation_policy] if propagation_policy else None)

    # ----- watch -----

    async def watch(self, kind: Kind, *, namespace: str | None = None, resource_version: str = "",
                    label_selector: str | None = None, field_selector: str | None = None, allow_bookmarks: bool = True,
                    timeout_seconds: int | None = None) -> AsyncGenerator[WatchEvent, None]:
        """Events after `resource_version` until the server ends the watch.

        Raises `Expired` when the version was compacted (HTTP 410 or an ERROR event), `Unreachable`
        when the connection fails. Close the iterator (`contextlib.aclosing`) when stopping early.
        """
        if timeout_seconds is None:
            timeout_seconds = random.randint(300, 600)  # spread reconnects like client-go's reflector
        params = {"resourceVersion": resource_version or None,
                  "allowWatchBookmarks": "true" if allow_bookmarks else None, "timeoutSeconds": timeout_seconds,
                  "labelSelector": label_selector, "fieldSelector": field_selector}
        ns = (namespace or ALL_NS) if kind.namespaced else None
        # a raw stream through lightkube's request builder: its watch() drops BOOKMARKs' meaning and params
        br = self._generic.prepare_request("list", res=self._resource(kind), namespace=ns, watch=True, params=params)
        br.timeout = httpx2.Timeout(10.0, read=timeout_seconds + 30.0)  # a silent half-open connection ends too
        request = self._generic.build_adapter_request(br)
        with _translated():
            response = await self._generic.send(request, stream=True)
        try:
            with _translated():
                if response.status_code != 200:
                    raise error_from_status(response.status_code, _json_or_text(await response.aread()))
                async for line in response.aiter_lines():
                    if not line:
                        continue
                    event = orjson.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        raise error_from_status(int(obj.get("code") or 500), obj)
                    yield WatchEvent(event["type"], obj)
        finally:
            await response.aclose()


def _generic_class(kind: Kind) -> Any:
    """lightkube's generic resource class for a kind (objects decode to dict subclasses)."""
    if "." not in kind.group or kind.group.endswith(".k8s.io"):
        # lightkube ships typed models for Kubernetes' own groups: keep its registry pointing at them
        return _unregistered_class(kind)
    create = (generic_resource.create_namespaced_resource if kind.namespaced
              else generic_resource.create_global_resource)
    try:
        res = create(kind.group, kind.version, kind.kind, kind.plural)
        if issubclass(res, dict):
            return res
    except ValueError:  # registered elsewhere in the process with another shape
        pass
    return _unregistered_class(kind)


def _unregistered_class(kind: Kind) -> Any:
    """A generic resource class kept out of lightkube's global registry."""
    base = generic_resource.GenericNamespacedResource if kind.namespaced else generic_resource.GenericGlobalResource
    status_base = (generic_resource.GenericNamespacedStatus if kind.namespaced
                   else generic_resource.GenericGlobalStatus)
    api_info = generic_resource.create_api_info(kind.group, kind.version, kind.kind, kind.plural)

    # lightkube only reads `_api_info` from these classes
    class Status(status_base):  # type: ignore[valid-type,misc]
        _api_info = lk_resource.ApiInfo(resource=api_info.resource, parent=api_info.resource, plural=kind.plural,
                                        verbs=["get", "patch", "put"], action="status")

    class Unregistered(base):  # type: ignore[valid-type,misc]
        pass

    Unregistered._api_info = api_info
    Unregistered.Status = Status
    Unregistered.__name__ = Unregistered.__qualname__ = kind.kind
    return Unregistered


__all__ = ["ApiError", "Client", "ClientError", "ObjectList", "WatchEvent"]

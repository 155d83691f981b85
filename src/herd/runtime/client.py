"""An async client for unstructured objects (plain dicts), over `herd.runtime.transport`.

Every kind, built-in or custom, is addressed by its `Kind` (group, version, plural, scope), so
objects come back as the JSON the server sent. Errors become the typed exceptions of
`herd.runtime.errors`.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightkube
import orjson
from lightkube.config.kubeconfig import SingleConfig

from .discovery import RESTMapper
from .errors import ApiError, ClientError, error_from_status
from .objects import Kind, Object, ObjectKey
from .transport import ConnectionPool, Response, Transport

PatchKind = Literal["merge", "json", "strategic", "apply"]
_PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json", "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json", "apply": "application/apply-patch+yaml",
}
_JSON = "application/json"
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


def _json_or_text(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode(errors="replace")[:500]


def _object(response: Response) -> Object:
    """The object a successful answer carries; raises the typed error of any other answer."""
    if response.status >= 300:
        raise error_from_status(response.status, _json_or_text(response.body))
    decoded = orjson.loads(response.body)
    if not isinstance(decoded, dict):
        raise error_from_status(500, f"expected an object, got {type(decoded).__name__}")
    return decoded


def collection_path(kind: Kind, namespace: str | None) -> str:
    """`/api/v1/namespaces/ns/pods`, `/apis/group/version/plural`, …: where a kind's objects live."""
    base = f"/apis/{kind.api_version}" if kind.group else f"/api/{kind.version}"
    return f"{base}/namespaces/{namespace}/{kind.plural}" if namespace else f"{base}/{kind.plural}"


class Client:
    """Get, list, create, update, patch, delete and watch objects of any kind, as dicts.

    Methods taking a `kind` accept a `Kind`; methods taking an object find its kind from its
    `apiVersion`/`kind` through discovery (cached), so provider objects referenced only by
    apiVersion/kind need no registration.
    """

    def __init__(self, transport: Transport, *, field_manager: str = DEFAULT_FIELD_MANAGER) -> None:
        self.transport = transport
        self.field_manager = field_manager
        self.mapper = RESTMapper(transport)
        self._write_observers: list[Callable[[Kind, Object], None]] = []

    @classmethod
    def from_kubeconfig(cls, path: str | Path | None = None, *, context: str | None = None,
                        field_manager: str = DEFAULT_FIELD_MANAGER, timeout: float = 30.0,
                        trust_env: bool = False) -> Client:
        """A client for the kubeconfig at `path` (default: in-cluster service account, $KUBECONFIG, ~/.kube/config).

        `trust_env` lets proxy and CA variables of the environment apply to the connection.
        """
        config = lightkube.KubeConfig.from_file(path) if path is not None else lightkube.KubeConfig.from_env()
        return cls.from_config(config.get(context), field_manager=field_manager, timeout=timeout, trust_env=trust_env)

    @classmethod
    def from_kubeconfig_dict(cls, kubeconfig: dict[str, Any], *, field_manager: str = DEFAULT_FIELD_MANAGER,
                             timeout: float = 30.0) -> Client:
        """A client for a kubeconfig given as a dict (inline `*-data` credentials), its current context."""
        return cls.from_config(lightkube.KubeConfig.from_dict(kubeconfig).get(), field_manager=field_manager,
                               timeout=timeout)

    @classmethod
    def from_config(cls, config: SingleConfig | None, *, field_manager: str = DEFAULT_FIELD_MANAGER,
                    timeout: float = 30.0, trust_env: bool = False, pool: ConnectionPool | None = None) -> Client:
        """A client for one context of a kubeconfig as lightkube read it; with `pool`, its connections are
        shared with the pool's other clients (see `ConnectionPool`)."""
        if config is None:
            raise ValueError("the kubeconfig names no context to use")
        return cls(Transport(config, timeout=timeout, trust_env=trust_env, pool=pool), field_manager=field_manager)

    @property
    def server(self) -> str:
        """The API server's URL."""
        return self.transport.server

    async def close(self) -> None:
        """Close every connection."""
        await self.transport.close()

    def observe_writes(self, observer: Callable[[Kind, Object], None]) -> None:
        """Call `observer(kind, object)` with what the server answered to each create, update and patch."""
        self._write_observers.append(observer)

    def _written(self, kind: Kind, obj: Object) -> Object:
        for observer in self._write_observers:
            observer(kind, obj)
        return obj

    # ----- kinds -----

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

    def _object_path(self, kind: Kind, name: str, namespace: str | None, subresource: str = "") -> str:
        if not name:
            raise ValueError(f"a {kind} needs a name")
        path = f"{collection_path(kind, self._namespace(kind, namespace))}/{name}"
        return f"{path}/{subresource}" if subresource else path

    async def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                    body: Any = None, content_type: str = _JSON) -> Object:
        data = None if body is None else orjson.dumps(body)
        return _object(await self.transport.request(method, path, params=params, body=data,
                                                    content_type=content_type if data is not None else None))

    # ----- reads -----

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> Object:
        """The object; raises NotFound."""
        return await self._send("GET", self._object_path(kind, name, namespace))

    async def get_by_key(self, kind: Kind, key: ObjectKey) -> Object:
        return await self.get(kind, key.name, key.namespace or None)

    async def list(self, kind: Kind, *, namespace: str | None = None, label_selector: str | None = None,
                   field_selector: str | None = None, page_size: int | None = None) -> ObjectList:
        """Every matching object (all namespaces when `namespace` is None) and the list's resourceVersion.

        Without `page_size` the list is one request: on herd, only an unpaginated list is a snapshot.
        """
        path = collection_path(kind, namespace if kind.namespaced else None)
        params: dict[str, Any] = {"limit": page_size, "labelSelector": label_selector,
                                  "fieldSelector": field_selector}
        items: builtins.list[Object] = []
        first_rv: str | None = None
        while True:
            page = await self._send("GET", path, params=params)
            meta = page.get("metadata") or {}
            if first_rv is None:  # later pages answer the first page's resourceVersion
                first_rv = str(meta.get("resourceVersion") or "")
            items.extend(page.get("items") or [])
            if not meta.get("continue"):
                return ObjectList(items, first_rv)
            params["continue"] = meta["continue"]

    # ----- writes -----

    def _write_params(self, *, field_manager: str | None = None, dry_run: bool = False,
                      force: bool = False) -> dict[str, Any]:
        return {"fieldManager": field_manager or self.field_manager, "dryRun": "All" if dry_run else None,
                "force": True if force else None}

    async def create(self, obj: Object, *, kind: Kind | None = None, dry_run: bool = False) -> Object:
        """Create the object; raises AlreadyExists, Invalid, …"""
        kind = await self._kind(obj, kind)
        path = collection_path(kind, self._namespace(kind, obj.get("metadata", {}).get("namespace")))
        created = await self._send("POST", path, params=self._write_params(dry_run=dry_run), body=obj)
        return created if dry_run else self._written(kind, created)

    async def update(self, obj: Object, *, kind: Kind | None = None) -> Object:
        """Replace the object (PUT); its metadata.resourceVersion guards against lost updates (Conflict)."""
        kind = await self._kind(obj, kind)
        meta = obj.get("metadata", {})
        path = self._object_path(kind, meta.get("name", ""), meta.get("namespace"))
        return self._written(kind, await self._send("PUT", path, params=self._write_params(), body=obj))

    async def update_status(self, obj: Object, *, kind: Kind | None = None) -> Object:
        """Replace the object's status through the status subresource."""
        kind = await self._kind(obj, kind)
        meta = obj.get("metadata", {})
        path = self._object_path(kind, meta.get("name", ""), meta.get("namespace"), "status")
        return self._written(kind, await self._send("PUT", path, params=self._write_params(), body=obj))

    async def patch(self, kind: Kind, name: str, patch: Mapping[str, Any] | Sequence[Any], *,
                    namespace: str | None = None, patch_type: PatchKind = "merge", force: bool = False,
                    field_manager: str | None = None, status: bool = False) -> Object:
        """Patch the object (or its status subresource when `status`); `apply` is server-side apply."""
        path = self._object_path(kind, name, namespace, "status" if status else "")
        params = self._write_params(field_manager=field_manager, force=force and patch_type == "apply")
        patched = await self._send("PATCH", path, params=params, body=patch,
                                   content_type=_PATCH_CONTENT_TYPES[patch_type])
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
        options: dict[str, Any] = {}
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        body = {"apiVersion": "v1", "kind": "DeleteOptions", **options} if options else None
        await self._send("DELETE", self._object_path(kind, name, namespace), body=body)

    async def create_subresource(self, kind: Kind, name: str, namespace: str | None, subresource: str,
                                 body: Object) -> Object:
        """POST to a subresource (a Pod's `eviction`, …)."""
        return await self._send("POST", self._object_path(kind, name, namespace, subresource), body=body)

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
        params = {"watch": "true", "resourceVersion": resource_version or None,
                  "allowWatchBookmarks": "true" if allow_bookmarks else None, "timeoutSeconds": timeout_seconds,
                  "labelSelector": label_selector, "fieldSelector": field_selector}
        path = collection_path(kind, namespace if kind.namespaced else None)
        # a silent half-open connection ends too
        stream = self.transport.stream(path, params, read_timeout=timeout_seconds + 30.0)
        try:
            async for item in stream:
                if isinstance(item, Response):
                    if item.status != 200:
                        raise error_from_status(item.status, _json_or_text(item.body))
                    continue
                event = orjson.loads(item)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    raise error_from_status(int(obj.get("code") or 500), obj)
                yield WatchEvent(event["type"], obj)
        finally:
            await stream.aclose()


__all__ = ["ApiError", "Client", "ClientError", "ObjectList", "WatchEvent", "collection_path"]

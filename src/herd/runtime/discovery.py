"""Discovery: from (apiVersion, kind) to where the kind lives in the REST API (a RESTMapper)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from .errors import NotFound, error_from_status
from .objects import BUILTIN_KINDS, Kind
from .transport import Transport


class RESTMapper:
    """Resolves kinds by reading `APIResourceList`s, one per group/version, cached.

    A miss re-reads the group/version once, so a CRD installed after the first lookup is found.
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._kinds: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in BUILTIN_KINDS}
        self._fetched: set[str] = set()
        self._lock = asyncio.Lock()

    def register(self, kind: Kind) -> None:
        """Make a kind known without asking the server."""
        self._kinds[(kind.api_version, kind.kind)] = kind

    async def kind_for(self, api_version: str, kind: str) -> Kind:
        """The Kind for apiVersion/kind; raises NotFound when the server does not serve it."""
        found = self._kinds.get((api_version, kind))
        if found is not None:
            return found
        async with self._lock:
            found = self._kinds.get((api_version, kind))
            if found is None:
                await self._fetch(api_version)
                found = self._kinds.get((api_version, kind))
        if found is None:
            raise NotFound(404, "NotFound", f"the server doesn't have a resource type for {kind} in {api_version}")
        return found

    async def _fetch(self, api_version: str) -> None:
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        response = await self._transport.request("GET", path)
        if response.status == 404:
            return
        if response.status != 200:
            raise error_from_status(response.status, _json(response.body))
        self._fetched.add(api_version)
        for kind in kinds_from_resource_list(api_version, _json(response.body)):
            self._kinds[(kind.api_version, kind.kind)] = kind


def kinds_from_resource_list(api_version: str, resource_list: Any) -> list[Kind]:
    """The Kinds an `APIResourceList` describes (subresources only mark status support)."""
    resources = resource_list.get("resources") or [] if isinstance(resource_list, dict) else []
    names = {r.get("name") for r in resources}
    return [Kind(api_version, r["kind"], r["name"], namespaced=bool(r.get("namespaced")),
                 status_subresource=f"{r['name']}/status" in names)
            for r in resources if "/" not in r.get("name", "/")]


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}

"""The set of resources the server serves right now: built-ins plus whatever CRDs define."""

from __future__ import annotations

from collections.abc import Iterable

from .resources import ResourceType


class Registry:
    """Lookup of served resource types by group/version/plural, by kind and by short name.

    `generation` changes whenever the served set changes, so discovery and OpenAPI answers can be
    cached until then.
    """

    def __init__(self, types: Iterable[ResourceType] = ()) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._owner: dict[tuple[str, str, str], str] = {}
        self.generation = 0
        for rtype in types:
            self.add(rtype)

    def add(self, rtype: ResourceType, owner: str = "") -> None:
        """Serve `rtype`; `owner` names the CRD it came from, so it can be removed with it."""
        gvr = (rtype.group, rtype.version, rtype.plural)
        self._by_gvr[gvr] = rtype
        self._owner[gvr] = owner
        self.generation += 1

    def replace_owned(self, owner: str, types: Iterable[ResourceType]) -> None:
        """Make `types` exactly the set served on behalf of `owner` (a CRD name)."""
        for gvr in [k for k, v in self._owner.items() if v == owner]:
            del self._by_gvr[gvr]
            del self._owner[gvr]
        for rtype in types:
            gvr = (rtype.group, rtype.version, rtype.plural)
            self._by_gvr[gvr] = rtype
            self._owner[gvr] = owner
        self.generation += 1

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        return list(self._by_gvr.values())

    def group_version_served(self, group: str, version: str) -> bool:
        return any(g == group and v == version for g, v, _ in self._by_gvr)

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        for rtype in self._by_gvr.values():
            if rtype.group == group and rtype.version == version and rtype.kind == kind:
                return rtype
        return None

    def by_group_resource(self, group: str, plural: str) -> list[ResourceType]:
        """Every served version of one resource."""
        return [t for t in self._by_gvr.values() if t.group == group and t.plural == plural]

    def storage_prefixes(self) -> dict[str, ResourceType]:
        """One representative type per storage prefix (the storage version where known)."""
        out: dict[str, ResourceType] = {}
        for rtype in self._by_gvr.values():
            current = out.get(rtype.storage_prefix)
            if current is None or rtype.version == rtype.storage_version:
                out[rtype.storage_prefix] = rtype
        return out

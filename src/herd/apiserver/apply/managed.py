"""`metadata.managedFields`: who owns which fields, kept on every write as kube-apiserver keeps it.

An *Update* (create, update, patch) gives its manager every field it added or changed and takes those
fields from everyone else; removed fields leave every set. Entries of one manager, operation,
subresource and (for Update) apiVersion merge into one. An *Apply* makes the applier own exactly the
fields of its configuration, removes what it owned before and no longer sends (unless someone else
owns it), and fails with conflicts when it changes fields other managers own, unless forced.

Entries are decoded lazily and reused untouched when their set does not change, so a create or an
update costs one walk of the object plus set operations on the managers it affects.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from typing import Any

from herd.apiserver.apply.fieldpath import PathSet, decode, encode, holds
from herd.apiserver.apply.fieldsets import Scope, applied_set, compare, created, created_fields
from herd.apiserver.apply.merge import named_ancestors, prune
from herd.apiserver.apply.shapes import Shape

APPLY, UPDATE = "Apply", "Update"
FIELDS_V1 = "FieldsV1"
BEFORE_FIRST_APPLY = "before-first-apply"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# kube upgrades client-side apply ownership only for kubectl's own server-side manager
_UPGRADING_MANAGER = "kubectl"

Identity = tuple[str, str, str, str]
# up to this many paths, membership is looked up in an entry's stored tree instead of decoding it
_PROBE_LIMIT = 16


@dataclass(frozen=True)
class Writer:
    """Who is writing: the manager name, the apiVersion used, the subresource, and the time to record."""

    manager: str
    api_version: str
    subresource: str = ""
    now: str = ""


@dataclass
class Entry:
    """One managedFields entry; `raw` is the stored dict, reused while the entry is unchanged."""

    manager: str
    operation: str
    api_version: str
    subresource: str = ""
    time: str | None = None
    raw: dict[str, Any] | None = None
    _paths: PathSet | None = None

    @property
    def identity(self) -> Identity:
        # appliers keep one entry whatever version they apply with; updaters one per version
        return (self.manager, self.operation, self.subresource, self.api_version if self.operation == UPDATE else "")

    @property
    def paths(self) -> PathSet:
        if self._paths is None:
            assert self.raw is not None
            self._paths = decode(self.raw.get("fieldsV1") or {})
        return self._paths

    def owns_any(self, paths: PathSet) -> bool:
        """Whether any of `paths` is in this entry's set; a few paths are looked up in the stored tree,
        which spares decoding entries a write does not touch."""
        if self._paths is None and self.raw is not None and len(paths) <= _PROBE_LIMIT:
            tree = self.raw.get("fieldsV1") or {}
            return any(holds(tree, p) for p in paths)
        return not self.paths.isdisjoint(paths)

    def owns_all(self, paths: PathSet) -> bool:
        if self._paths is None and self.raw is not None and len(paths) <= _PROBE_LIMIT:
            tree = self.raw.get("fieldsV1") or {}
            return all(holds(tree, p) for p in paths)
        return paths <= self.paths

    def touched(self, time: str) -> Entry:
        """The same set, written again at `time`."""
        raw = {**self.raw, "time": time} if self.raw is not None else None
        return Entry(self.manager, self.operation, self.api_version, self.subresource, time, raw, self._paths)

    def with_paths(self, paths: PathSet, time: str | None = None) -> Entry:
        return replace(self, raw=None, _paths=paths, time=time or self.time)

    def to_dict(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        out: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = FIELDS_V1
        out["fieldsV1"] = encode(self.paths)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


Managers = dict[Identity, Entry]


def decode_entries(value: object, check_sets: bool = False) -> Managers:
    """The entries of a managedFields list; ValueError when one is not valid, as kube decodes them."""
    if not isinstance(value, list):
        raise ValueError("managedFields must be a list")
    out: Managers = {}
    for i, raw in enumerate(value):
        if not isinstance(raw, dict):
            raise ValueError(f"managed fields entry {i} must be an object")
        operation = raw.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        api_version = raw.get("apiVersion")
        if not isinstance(api_version, str) or not api_version:
            raise ValueError("apiVersion must not be empty")
        if raw.get("fieldsType") != FIELDS_V1:
            raise ValueError(f"invalid fieldsType in managed fields entry {i}")
        manager, subresource, time = raw.get("manager", ""), raw.get("subresource", ""), raw.get("time")
        if not isinstance(manager, str) or not isinstance(subresource, str) or not isinstance(time, str | None):
            raise ValueError(f"managed fields entry {i} has a field of the wrong type")
        entry = Entry(manager, operation, api_version, subresource, time, raw)
        if check_sets:
            entry.paths  # noqa: B018 - decoding is the check
        if entry.identity in out:
            raise ValueError(f"duplicate entry for manager {manager!r} in managed fields")
        out[entry.identity] = entry
    return out


def encode_entries(managers: Managers) -> list[dict[str, Any]]:
    """The managedFields list, ordered as kube orders it: Apply before Update, then oldest first."""
    entries = sorted(managers.values(), key=lambda e: (e.operation, e.time or "", e.manager, e.api_version,
                                                       e.subresource))
    return [e.to_dict() for e in entries]


def _is_reset(requested: object) -> bool:
    # kube: an empty list (not a missing one), or a list of one empty entry, clears managedFields
    return requested == [] or requested == [{}]


def _starting_managers(live: dict[str, Any] | None, requested: object, subresource: str) -> Managers:
    """The entries an Update starts from: the request's when it sets valid ones, else the live object's."""
    live_value = (live or {}).get("metadata", {}).get("managedFields")
    if not subresource and requested is not None and requested != live_value:
        if _is_reset(requested):
            return {}
        try:
            managers = decode_entries(requested, check_sets=True)
        except ValueError:
            managers = {}
        if managers:
            return managers
    if live_value is None:
        return {}
    try:
        return decode_entries(live_value)
    except ValueError:
        return {}


def _set_entries(obj: dict[str, Any], managers: Managers) -> None:
    meta = obj["metadata"]
    if managers:
        meta["managedFields"] = encode_entries(managers)
    else:
        meta.pop("managedFields", None)


def _take(managers: Managers, me: Identity, taken: PathSet, removed: PathSet) -> Managers:
    """Every other manager without the fields `me` took or removed; managers left with nothing go."""
    out: Managers = {}
    for identity, entry in managers.items():
        if identity != me and ((taken and entry.owns_any(taken)) or (removed and entry.owns_any(removed))):
            paths = entry.paths - taken - removed
            if not paths:
                continue
            entry = entry.with_paths(paths)
        out[identity] = entry
    return out


def record_update(live: dict[str, Any] | None, new: dict[str, Any], root: Shape, writer: Writer,
                  scope: Scope) -> None:
    """Set `new`'s managedFields after a create (`live` None) or an update by `writer`.

    The writer's entry gets what it added or changed (and its time is set) and loses what it removed;
    every other entry loses both.
    """
    managers = _starting_managers(live, new["metadata"].get("managedFields"), writer.subresource)
    me: Identity = (writer.manager, UPDATE, writer.subresource, writer.api_version)
    if live is None and not managers:  # a plain create: the creator owns every node, built in one walk
        tree = created_fields(new, root, scope)
        if tree:
            managers[me] = Entry(writer.manager, UPDATE, writer.api_version, writer.subresource, writer.now,
                                 _raw_entry(writer, tree))
        _set_entries(new, managers)
        return
    changes = compare(live, new, root, scope) if live is not None else None
    taken = created(new, root, scope) if changes is None else changes.changed()
    removed = changes.removed if changes is not None else set()
    if taken or removed:
        previous = managers.get(me)
        managers = _take(managers, me, taken, removed)
        if previous is not None and not (removed and previous.owns_any(removed)) and previous.owns_all(taken):
            managers[me] = previous.touched(writer.now) if taken else previous
        else:
            mine = (previous.paths - removed if previous is not None else set()) | taken
            if mine:
                time = writer.now if taken or previous is None else previous.time
                managers[me] = Entry(writer.manager, UPDATE, writer.api_version, writer.subresource, time,
                                     _paths=mine)
        managers = cap_updaters(managers)
    _set_entries(new, managers)


MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"


def cap_updaters(managers: Managers, limit: int = MAX_UPDATE_MANAGERS) -> Managers:
    """At most `limit` Update entries: the oldest fold, per apiVersion, into an `ancient-changes` entry (kube's
    rule, so an object many clients touch keeps a bounded managedFields)."""
    updaters = [e for e in managers.values() if e.operation == UPDATE]
    if len(updaters) <= limit:
        return managers
    out = dict(managers)
    updaters.sort(key=lambda e: (e.time or "", e.manager, e.api_version, e.subresource))
    first_of_version: dict[str, Entry] = {}
    remaining = len(updaters)
    for entry in updaters:
        if remaining <= limit:
            break
        bucket_id: Identity = (ANCIENT_CHANGES, UPDATE, "", entry.api_version)
        first = first_of_version.get(entry.api_version)
        if first is None:
            first_of_version[entry.api_version] = entry
            continue
        bucket = out.get(bucket_id)
        if bucket is None:  # the oldest of this version becomes the bucket
            bucket = out.pop(first.identity)
        del out[entry.identity]
        out[bucket_id] = Entry(ANCIENT_CHANGES, UPDATE, entry.api_version, "", entry.time,
                               _paths=bucket.paths | entry.paths)
        remaining -= 1
    return out


def _raw_entry(writer: Writer, tree: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"manager": writer.manager, "operation": UPDATE, "apiVersion": writer.api_version,
                           "time": writer.now, "fieldsType": FIELDS_V1, "fieldsV1": tree}
    if writer.subresource:
        out["subresource"] = writer.subresource
    return out


@dataclass(frozen=True)
class Conflict:
    """A field the applier would change that `owner` manages."""

    owner: Entry
    path: tuple[str, ...]


class ApplyConflicts(Exception):
    """An apply changed fields other managers own; `conflicts` lists each field and its manager."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts


def _live_managers(live: dict[str, Any] | None, root: Shape, writer: Writer, scope: Scope) -> Managers:
    if live is None:
        return {}
    try:
        managers = decode_entries(live["metadata"].get("managedFields") or [])
    except ValueError:
        managers = {}
    if not managers:
        # an object no one tracked yet: what it holds belongs to a placeholder manager, so an apply
        # that changes it conflicts instead of silently taking it
        owned = created(live, root, scope)
        if owned:
            entry = Entry(BEFORE_FIRST_APPLY, UPDATE, writer.api_version, writer.subresource, writer.now,
                          _paths=owned)
            managers[entry.identity] = entry
    return managers


def record_apply(live: dict[str, Any] | None, merged: dict[str, Any], config: dict[str, Any], root: Shape,
                 writer: Writer, scope: Scope, force: bool) -> dict[str, Any]:
    """The merged object with the applier's fields removed as they should be and managedFields set.

    Raises ApplyConflicts when the apply changes fields others own and `force` is off.
    """
    managers = _live_managers(live, root, writer, scope)
    me: Identity = (writer.manager, APPLY, writer.subresource, "")
    previous = managers.get(me)
    applied = applied_set(config, root, scope)
    managers[me] = Entry(writer.manager, APPLY, writer.api_version, writer.subresource, writer.now,
                         _paths=applied)
    if previous is not None:
        owned: PathSet = set().union(*(e.paths for e in managers.values()))
        merged = prune(merged, root, named_ancestors(previous.paths), owned)
    changes = compare(live, merged, root, scope) if live is not None else None
    taken = created(merged, root, scope) if changes is None else changes.changed()
    removed = changes.removed if changes is not None else set()
    conflicts = [Conflict(entry, path) for identity, entry in managers.items() if identity != me
                 for path in entry.paths & taken]
    if conflicts and not force and not _upgrading(live, conflicts, root, writer, scope):
        raise ApplyConflicts(sorted(conflicts, key=lambda c: (c.owner.manager, c.path)))
    managers = _take(managers, me, taken, removed)
    if not applied:
        del managers[me]
    elif changes is not None and changes.empty() and previous is not None:
        managers[me] = replace(managers[me], time=previous.time)  # a no-op apply keeps its time
    if writer.manager == _UPGRADING_MANAGER:
        _refresh_last_applied(merged, config)
    _set_entries(merged, managers)
    return merged


def _upgrading(live: dict[str, Any] | None, conflicts: list[Conflict], root: Shape, writer: Writer,
               scope: Scope) -> bool:
    """Whether kubectl's server-side apply may take these fields from client-side apply: every conflict
    is a field of the last-applied configuration whose value the object still holds."""
    if writer.manager != _UPGRADING_MANAGER or live is None:
        return False
    last = _last_applied(live, writer.api_version)
    if last is None:
        return False
    allowed = applied_set(last, root, scope)
    drift = compare(last, live, root, scope)
    allowed -= drift.added | drift.modified | drift.removed
    return all(c.path in allowed for c in conflicts)


def _last_applied(obj: dict[str, Any], api_version: str) -> dict[str, Any] | None:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return None
    return last


def _refresh_last_applied(merged: dict[str, Any], config: dict[str, Any]) -> None:
    """Keep a client-side apply annotation in step with what kubectl now applies server-side, so a later
    client-side apply computes its patch from the right base."""
    annotations = merged.get("metadata", {}).get("annotations")
    if not isinstance(annotations, dict) or LAST_APPLIED not in annotations:
        return
    shown = dict(config)
    meta = dict(shown.get("metadata") or {})
    config_annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if config_annotations:
        meta["annotations"] = config_annotations
    else:
        meta.pop("annotations", None)
    shown["metadata"] = meta
    merged["metadata"]["annotations"] = {**annotations, LAST_APPLIED: json.dumps(shown, separators=(",", ":"))}


_MAX_MANAGER_BYTES = 128


@functools.lru_cache(maxsize=256)  # clients send the same few User-Agents on every request
def manager_from_user_agent(user_agent: str) -> str:
    """The manager kube-apiserver derives from a User-Agent: the part before the first "/", printable
    characters only, at most 128 bytes (`kubectl/v1.33.0 (linux/amd64)` gives `kubectl`)."""
    out: list[str] = []
    size = 0
    for ch in user_agent.split("/", 1)[0]:
        if not ch.isprintable():
            continue
        size += len(ch.encode())
        if size > _MAX_MANAGER_BYTES:
            break
        out.append(ch)
    return "".join(out)

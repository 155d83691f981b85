"""API discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/G/V`) as pure functions.

Everything here is computed from the list of served `ResourceType`s; the REST layer only picks the
function and the Content-Type. Two flavours exist, as in kube-apiserver:

- the plain documents (`APIVersions`, `APIGroupList`, `APIResourceList`), one request per
  group-version;
- aggregated discovery (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`), which kubectl 1.32
  asks for first and which carries every resource of every group in one answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from herd.apiserver.resources import ResourceType

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")

# Subresources whose discovery entry is not "same kind, get/patch/update".
# name -> (group, version, kind or "" for the parent's kind, verbs). group None = the parent's group.
_SUBRESOURCES: dict[str, tuple[str | None, str | None, str, tuple[str, ...]]] = {
    "status": (None, None, "", ("get", "patch", "update")),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "binding": ("", "v1", "Binding", ("create",)),
    "log": (None, None, "", ("get",)),
    "exec": ("", "v1", "PodExecOptions", ("create", "get")),
    "attach": ("", "v1", "PodAttachOptions", ("create", "get")),
    "portforward": ("", "v1", "PodPortForwardOptions", ("create", "get")),
    "proxy": (None, None, "{kind}ProxyOptions", ("create", "delete", "get", "patch", "update")),
    "finalize": (None, None, "", ("update",)),
}


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key giving kube's version priority: GA > beta > alpha > anything else.

    Within one level the higher major version wins, then the higher minor (`v2beta1` > `v1beta2`);
    versions that do not look like kube versions sort last, alphabetically.
    """
    m = _KUBE_VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    major = int(m.group(1))
    minor = int(m.group(3) or 0)
    level = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (level, -major, -minor, version)


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Distinct versions ordered by kube priority, the preferred one first."""
    return sorted(set(versions), key=version_priority)


def wants_aggregated(accept: str) -> bool:
    """True when an Accept header asks for `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`.

    Only v2 counts: a client that offers v2beta1 alone (kubectl <= 1.27) gets the plain documents.
    Media ranges with `q=0` are refused ones and are ignored.
    """
    for media_range in accept.split(","):
        parts = [p.strip() for p in media_range.split(";")]
        if parts[0].lower() not in ("application/json", "application/*", "*/*"):
            continue
        params: dict[str, str] = {}
        for p in parts[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip()
        if params.get("q", "1") in ("0", "0.0", "0.00", "0.000"):
            continue
        if (params.get("g") == "apidiscovery.k8s.io" and params.get("v") == "v2"
                and params.get("as") == "APIGroupDiscoveryList"):
            return True
    return False


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """Opaque, stable hash of a resource's storage version (computed the way kube does)."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def etag(document: dict[str, Any]) -> str:
    """A strong ETag for a discovery document: changes whenever its content does."""
    data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return '"' + hashlib.sha256(data).hexdigest()[:32].upper() + '"'


def served_group_versions(types: list[ResourceType]) -> list[str]:
    """Every served group-version (`v1`, `g/v`), core first, then groups in order of appearance."""
    out: list[str] = []
    for rt in types:
        if not rt.group and rt.version not in out:
            out.append(rt.version)
    for group, versions in _groups(types).items():
        if group:
            out.extend(f"{group}/{v}" for v in versions)
    return out


def core_versions(server_address: str = "127.0.0.1:6443") -> dict[str, Any]:
    """The plain `GET /api` answer (`APIVersions`)."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def group_list(types: list[ResourceType]) -> dict[str, Any]:
    """The plain `GET /apis` answer (`APIGroupList`) for every non-core group.

    Each group's versions are listed preferred first; the preferred version is the one with the
    highest kube version priority.
    """
    groups = []
    for group, versions in _groups(types).items():
        if not group:
            continue
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(types: list[ResourceType], group_version: str) -> dict[str, Any]:
    """The plain `GET /api/v1` or `GET /apis/G/V` answer (`APIResourceList`).

    Subresources appear as their own entries (`machines/status`, `machinesets/scale` with kind
    Scale in autoscaling/v1). An unknown group-version gives an empty list: callers should answer
    404 for it (see `served_group_versions`).
    """
    resources: list[dict[str, Any]] = []
    for rt in types:
        if rt.group_version != group_version:
            continue
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        entry["storageVersionHash"] = storage_version_hash(
            rt.group, rt.storage_version or rt.version, rt.kind)
        resources.append(entry)
        for sub in rt.subresources:
            group, version, kind, verbs = subresource_kind(rt, sub)
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
            }
            if (group, version) != (rt.group, rt.version):
                sub_entry["group"] = group
                sub_entry["version"] = version
            sub_entry["kind"] = kind
            sub_entry["verbs"] = list(verbs)
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": resources}


def aggregated(types: list[ResourceType], core: bool) -> dict[str, Any]:
    """Aggregated discovery (`APIGroupDiscoveryList`, apidiscovery.k8s.io/v2).

    `core=True` answers `GET /api` (only the "" group); `core=False` answers `GET /apis` (every
    other group). Versions are listed preferred first; every version is `Current`.
    """
    items = []
    for group, versions in _groups(types).items():
        if bool(group) == core:
            continue
        version_entries = []
        for version in versions:
            resources = [_aggregated_resource(rt) for rt in types
                         if rt.group == group and rt.version == version]
            version_entries.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": version_entries})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


def subresource_kind(rt: ResourceType, sub: str) -> tuple[str, str, str, tuple[str, ...]]:
    """(group, version, kind, verbs) a subresource of `rt` answers with.

    `rt.extra["subresources"][sub]` (a dict with any of group/version/kind/verbs) overrides the
    built-in table; unknown subresources default to the parent's kind with get/patch/update.
    """
    group, version, kind, verbs = _SUBRESOURCES.get(sub, (None, None, "", ("get", "patch", "update")))
    table = rt.extra.get("subresources")
    override = table.get(sub) if isinstance(table, dict) else None
    if not isinstance(override, dict):
        override = {}
    out_group = str(override.get("group", rt.group if group is None else group))
    out_version = str(override.get("version", rt.version if version is None else version))
    out_kind = str(override.get("kind", kind.format(kind=rt.kind) if kind else rt.kind))
    out_verbs = tuple(str(v) for v in override.get("verbs", verbs))
    return out_group, out_version, out_kind, out_verbs


def _groups(types: list[ResourceType]) -> dict[str, list[str]]:
    """Group name -> its versions, preferred first; groups in order of first appearance."""
    seen: dict[str, list[str]] = {}
    for rt in types:
        seen.setdefault(rt.group, []).append(rt.version)
    return {group: sort_versions(versions) for group, versions in seen.items()}


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        group, version, kind, verbs = subresource_kind(rt, sub)
        subs.append({"subresource": sub, "responseKind": {"group": group, "version": version, "kind": kind},
                     "verbs": list(verbs)})
    if subs:
        entry["subresources"] = subs
    return entry

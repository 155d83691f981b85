"""The default policy put in place at every start, as kube-apiserver reconciles its bootstrap policy.

Missing roles and bindings are created. Existing ones annotated `rbac.authorization.kubernetes.io/autoupdate`
other than "false" get back what the defaults hold and they lack (rules, aggregation selectors, labels,
annotations, subjects), keeping whatever was added to them; a binding whose roleRef was changed is recreated
(roleRef cannot be updated). With the annotation "false" the object is left as the user made it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..objects import Objects, WriteOptions
from ..resources import ResourceType
from .default_policy import (
    AUTOUPDATE,
    default_cluster_role_bindings,
    default_cluster_roles,
    default_role_bindings,
    default_roles,
)
from .rules import Rule
from .types import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES

log = logging.getLogger(__name__)


def _missing(have: list[Any], want: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    keys = {key(item) for item in have if isinstance(item, dict)}
    return [item for item in want if key(item) not in keys]


def _rule_key(rule: Any) -> Any:
    return Rule.from_dict(rule)


def _subject_key(subject: Any) -> Any:
    return subject.get("kind"), subject.get("name"), subject.get("namespace", "")


def reconciled_role(live: dict[str, Any], default: dict[str, Any]) -> dict[str, Any] | None:
    """`live` with what `default` holds and it lacks; None when nothing lacks."""
    out = _with_metadata(live, default)
    rules: list[Any] = live["rules"] if isinstance(live.get("rules"), list) else []
    if "aggregationRule" in default:
        selectors: list[Any] = list((live.get("aggregationRule") or {}).get("clusterRoleSelectors") or [])
        wanted = default["aggregationRule"]["clusterRoleSelectors"]
        extra = _missing(selectors, wanted, repr)
        if extra or "aggregationRule" not in live:
            out["aggregationRule"] = {"clusterRoleSelectors": [*selectors, *extra]}
    else:
        extra_rules = _missing(rules, default["rules"], _rule_key)
        if extra_rules:
            out["rules"] = [*rules, *extra_rules]
    return out if out != live else None


def reconciled_binding(live: dict[str, Any], default: dict[str, Any]) -> dict[str, Any] | None:
    out = _with_metadata(live, default)
    subjects: list[Any] = live["subjects"] if isinstance(live.get("subjects"), list) else []
    extra = _missing(subjects, default["subjects"], _subject_key)
    if extra:
        out["subjects"] = [*subjects, *extra]
    return out if out != live else None


def _with_metadata(live: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    meta = dict(live["metadata"])
    for field in ("labels", "annotations"):
        merged = {**default["metadata"][field], **(meta.get(field) or {})}
        if merged != (meta.get(field) or {}):
            meta[field] = merged
    return {**live, "metadata": meta}


async def reconcile_default_policy(objects: Objects) -> None:
    """Create or complete every default role and binding (see the module's docstring)."""
    plan: list[tuple[ResourceType, list[dict[str, Any]], Callable[..., dict[str, Any] | None]]] = [
        (CLUSTER_ROLES, default_cluster_roles(), reconciled_role),
        (ROLES, default_roles(), reconciled_role),
        (CLUSTER_ROLE_BINDINGS, default_cluster_role_bindings(), reconciled_binding),
        (ROLE_BINDINGS, default_role_bindings(), reconciled_binding),
    ]
    # all at once: the store commits concurrent writes in one transaction, so a first start pays one fsync, not 30
    await asyncio.gather(*(_reconcile_one(objects, rtype, default, reconcile)
                           for rtype, defaults, reconcile in plan for default in defaults))


async def _reconcile_one(objects: Objects, rtype: ResourceType, default: dict[str, Any],
                         reconcile: Callable[..., dict[str, Any] | None]) -> None:
    meta = default["metadata"]
    namespace, name = meta.get("namespace", ""), meta["name"]
    record = objects.store.get(rtype.key(namespace, name))
    options = WriteOptions()
    if record is None:
        await objects.create(rtype, namespace, default, options)
        return
    live = record.value
    if (live["metadata"].get("annotations") or {}).get(AUTOUPDATE) == "false":
        return
    if "roleRef" in default and live.get("roleRef") != default["roleRef"]:
        log.info("recreating %s %s: its roleRef is not the default one", rtype.kind, name)
        await objects.store.delete(record.key)
        await objects.create(rtype, namespace, default, options)
        return
    wanted = reconcile(live, default)
    if wanted is not None:
        await objects.update(rtype, namespace, name, wanted, options)

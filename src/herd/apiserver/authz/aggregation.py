"""Aggregated ClusterRoles, as kube-controller-manager's clusterrole-aggregation controller fills them.

A ClusterRole with an `aggregationRule` gets as its rules the union of the rules of every other ClusterRole whose
labels match one of its `clusterRoleSelectors` (in name order, each rule once); whatever rules it held before are
replaced. A pass runs at start and again after any ClusterRole changes; its own writes cause one more pass,
which finds nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..errors import StatusError
from ..objects import Objects, WriteOptions
from ..selectors import LabelSelector
from ..storage.base import CompactedError, StorageError
from .rules import Rule
from .types import CLUSTER_ROLES

log = logging.getLogger(__name__)


def _selectors(role: dict[str, Any]) -> list[LabelSelector] | None:
    rule = role.get("aggregationRule")
    if not isinstance(rule, dict):
        return None
    selectors = []
    for selector in rule.get("clusterRoleSelectors") or []:
        try:
            selectors.append(LabelSelector.from_label_selector(selector))
        except StatusError:
            continue  # validation refuses these on write; one stored before grants nothing
    return selectors


def aggregated_rules(role: dict[str, Any], roles: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The rules `role` aggregates from `roles`, or None when it has no aggregationRule."""
    selectors = _selectors(role)
    if selectors is None:
        return None
    name = role["metadata"]["name"]
    seen: set[Rule] = set()
    out: list[dict[str, Any]] = []
    for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
        if other["metadata"]["name"] == name:
            continue
        labels = other["metadata"].get("labels") or {}
        if not any(selector.matches(labels) for selector in selectors if not selector.empty()):
            continue
        for rule in other.get("rules") or []:
            if isinstance(rule, dict) and (compiled := Rule.from_dict(rule)) not in seen:
                seen.add(compiled)
                out.append(rule)
    return out


def _with_rules(rules: list[dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda live: {**live, "rules": rules}


class ClusterRoleAggregator:
    """Keeps every aggregated ClusterRole's rules up to date."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    async def aggregate_once(self) -> int:
        """One pass over every ClusterRole; how many were rewritten."""
        records, _ = self.objects.store.list(CLUSTER_ROLES.storage_prefix)
        roles = [record.value for record in records]
        changed = 0
        for role in roles:
            rules = aggregated_rules(role, roles)
            if rules is None or rules == (role.get("rules") or []):
                continue
            try:
                await self.objects.guaranteed_update(CLUSTER_ROLES, "", role["metadata"]["name"],
                                                     _with_rules(rules), WriteOptions())
                changed += 1
            except StatusError as exc:  # deleted meanwhile, or refused: the next change brings another pass
                log.info("cannot aggregate ClusterRole %s: %s", role["metadata"]["name"], exc)
        return changed

    async def run(self) -> None:
        """Aggregate after every ClusterRole change until cancelled."""
        store = self.objects.store
        while True:
            try:
                _, revision = store.list(CLUSTER_ROLES.storage_prefix)
                watch = store.watch(CLUSTER_ROLES.storage_prefix, revision)
            except CompactedError:
                continue
            except StorageError:
                return
            try:
                await self.aggregate_once()
                async for _ in watch:
                    await asyncio.sleep(0)  # let a burst of changes (a kubectl apply of many roles) arrive first
                    await self.aggregate_once()
            finally:
                watch.close()

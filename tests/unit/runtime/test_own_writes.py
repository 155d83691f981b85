"""A controller's own writes to its kind bring no second reconcile; everyone else's changes still do."""

from __future__ import annotations

import asyncio
from typing import Any

from herd.runtime.controller import Controller, Result
from herd.runtime.objects import CONFIGMAP, SECRET, Object, ObjectKey
from herd.runtime.ownwrites import OwnWrites


def version(rv: str, uid: str = "u1", data: str = "") -> Object:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns", "uid": uid, "resourceVersion": rv}, "data": {"x": data}}


def passes(own: OwnWrites, old: Object, new: Object) -> bool:
    return own.predicate.update(old, new)


def test_the_event_of_a_version_written_while_reconciling_is_dropped_once() -> None:
    own = OwnWrites(CONFIGMAP)
    with own.reconciling():
        own.observe(CONFIGMAP, version("5", data="mine"))
    assert not passes(own, version("4"), version("5", data="mine"))
    assert passes(own, version("4"), version("5", data="mine")), "recognised once only"


def test_writes_outside_a_reconcile_other_kinds_and_other_versions_pass() -> None:
    own = OwnWrites(CONFIGMAP)
    own.observe(CONFIGMAP, version("5"))  # not inside reconciling(): e.g. another controller's write
    with own.reconciling():
        own.observe(SECRET, version("6"))
        own.observe(CONFIGMAP, version("7"))
    assert passes(own, version("4"), version("5"))
    assert passes(own, version("5"), version("6"))
    assert passes(own, version("6"), version("8")), "someone else's later change"
    assert not passes(own, version("6"), version("7"))


def test_a_spec_write_and_a_status_write_in_a_row_are_both_recognised() -> None:
    own = OwnWrites(CONFIGMAP)
    with own.reconciling():
        own.observe(CONFIGMAP, version("5"))
        own.observe(CONFIGMAP, version("6"))
    assert not passes(own, version("4"), version("5"))
    assert not passes(own, version("5"), version("6"))


def test_another_object_with_the_same_version_passes() -> None:
    own = OwnWrites(CONFIGMAP)
    with own.reconciling():
        own.observe(CONFIGMAP, version("5", uid="u1"))
    assert passes(own, version("4", uid="u2"), version("5", uid="u2"))


async def test_the_controller_marks_writes_made_in_its_reconciles_and_their_tasks() -> None:
    own = OwnWrites(CONFIGMAP)
    seen: list[Any] = []

    async def reconcile(key: ObjectKey) -> Result:
        own.observe(CONFIGMAP, version("10"))

        async def in_a_task() -> None:
            own.observe(CONFIGMAP, version("11"))

        await asyncio.create_task(in_a_task())
        seen.append(key)
        return Result()

    controller = Controller("own", reconcile, [], own_writes=own)
    await controller.reconcile_handler(ObjectKey("ns", "a"))
    own.observe(CONFIGMAP, version("12"))  # after the reconcile: not ours
    assert seen == [ObjectKey("ns", "a")]
    assert not passes(own, version("9"), version("10"))
    assert not passes(own, version("10"), version("11"))
    assert passes(own, version("11"), version("12"))

"""Making a resource exactly once, even when the controller dies between creating it and recording it.

A cloud call that creates something returns before the reconcile writes the resource's ID into the object's status;
a crash in between must not make a second one. So a reconcile always looks for the resource first, by something
the creation stamped on it (tags carrying the cluster's and object's names), and creates only when nothing is found:

    vpc, created = await find_or_create(
        find=lambda: ec2_find_one("vpc", tags=owned_tags(ctx)),
        create=lambda: ec2_create_vpc(cidr, tags=owned_tags(ctx)),
    )
    ctx.status.vpc_id = vpc["VpcId"]

`find` and `create` may be plain functions (a blocking SDK such as boto3 runs in a worker thread, not in the event
loop) or coroutine functions.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")


async def _run(step: Callable[[], object]) -> object:
    if inspect.iscoroutinefunction(step):
        return await step()
    result = await asyncio.to_thread(step)
    return await result if inspect.isawaitable(result) else result


async def find_or_create(find: Callable[[], T | None] | Callable[[], Awaitable[T | None]],
                         create: Callable[[], T] | Callable[[], Awaitable[T]]) -> tuple[T, bool]:
    """The resource `find` returns, or else the one `create` makes; and whether it was created now."""
    found = await _run(find)
    if found is not None:
        return cast(T, found), False
    return cast(T, await _run(create)), True


def owned_tags(provider: str, cluster_name: str, object_name: str) -> dict[str, str]:
    """The tags that make a resource findable again: `<provider>/cluster/<cluster>: owned` (upstream's ownership
    tag shape, e.g. `sigs.k8s.io/cluster-api-provider-aws/cluster/<name>`) and the object that made it."""
    return {f"{provider}/cluster/{cluster_name}": "owned", f"{provider}/object": object_name}

"""A controller manager in a process of its own, for leader election tests that kill -9 the leader.

    python manager_process.py KUBECONFIG IDENTITY

Its controller stamps every ConfigMap it reconciles with the annotation `reconciled-by: IDENTITY`.
Prints "synced" once its cache is warm.
"""

from __future__ import annotations

import asyncio
import sys

from herd.runtime import CONFIGMAP, Client, Controller, LeaderElectionConfig, Manager, ObjectKey, Result

ANNOTATION = "reconciled-by"


async def main(kubeconfig: str, identity: str) -> None:
    client = Client.from_kubeconfig(kubeconfig)
    config = LeaderElectionConfig(name="process-test", namespace="default", identity=identity,
                                  lease_duration=2, renew_deadline=1.5, retry_period=0.25)
    manager = Manager(client, leader_election=config, health_port=None)

    async def reconcile(key: ObjectKey) -> Result:
        obj = manager.cache.get(CONFIGMAP, key.namespace, key.name)
        if obj is not None and (obj["metadata"].get("annotations") or {}).get(ANNOTATION) != identity:
            await client.patch(CONFIGMAP, key.name, {"metadata": {"annotations": {ANNOTATION: identity}}},
                               namespace=key.namespace)
        return Result()

    manager.add(Controller.builder("stamp").for_(CONFIGMAP).build(reconcile))

    async def announce() -> None:
        await manager.wait_synced()
        print("synced", flush=True)

    announcing = asyncio.create_task(announce())
    try:
        await manager.run()
    finally:
        announcing.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

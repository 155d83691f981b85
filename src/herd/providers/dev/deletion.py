"""Deleting a simulated machine: stop its kubelet, delete its Node (best effort), let the DevMachine go."""

from __future__ import annotations

import asyncio
import logging

from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.api.infrastructure.dev_types import DELETING_REASON
from herd.api.infrastructure.devmachine import MACHINE_FINALIZER
from herd.runtime import NODE, ClientError, NotFound, Object, conditions
from herd.runtime.finalizers import remove_finalizer

from .kinds import cluster_key, labels_of, namespace_of
from .scope import Services
from .workload import KubeconfigError

log = logging.getLogger("herd.providers.dev")

NODE_DELETE_TIMEOUT = 5.0  # best effort: a cluster that does not answer must not hold the machine back


async def reconcile_delete(devmachine: Object, services: Services, *, cluster_name: str | None,
                           node_name: str | None) -> None:
    """Tear the machine down; `cluster_name`/`node_name` come from the Machine, or from the DevMachine's label
    and addresses when the Machine is already gone."""
    namespace = namespace_of(devmachine)
    cluster_name = cluster_name or labels_of(devmachine).get(CLUSTER_NAME_LABEL)
    node_name = node_name or _hostname(devmachine)
    conditions.set_condition(devmachine, "Ready", False, DELETING_REASON, "The DevMachine is being deleted")
    if cluster_name and node_name:
        key = cluster_key(namespace, cluster_name)
        await services.kubelets.stop(key, node_name)
        if services.servers.is_running(key):  # otherwise there is no API to delete the Node from
            await _delete_node(services, namespace, cluster_name, node_name)
    remove_finalizer(devmachine, MACHINE_FINALIZER)


async def _delete_node(services: Services, namespace: str, cluster_name: str, node_name: str) -> None:
    try:
        async with asyncio.timeout(NODE_DELETE_TIMEOUT):
            client = await services.clients.get(namespace, cluster_name)
            await client.delete(NODE, node_name)
        log.info("deleted Node %s of %s/%s", node_name, namespace, cluster_name)
    except NotFound:
        pass  # already gone (the Machine controller deletes Nodes too), or no kubeconfig Secret: nothing to do
    except (ClientError, KubeconfigError, TimeoutError) as exc:
        log.info("could not delete Node %s of %s/%s (continuing): %s", node_name, namespace, cluster_name, exc)


def _hostname(devmachine: Object) -> str | None:
    for address in (devmachine.get("status") or {}).get("addresses") or []:
        if address.get("type") == "Hostname" and address.get("address"):
            return str(address["address"])
    return None

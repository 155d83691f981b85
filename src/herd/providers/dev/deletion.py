"""Deleting a simulated machine: stop its kubelet (and etcd member), delete its Node and mirror pods (best effort),
let the DevMachine go."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.api.infrastructure.dev_types import DELETING_REASON
from herd.api.infrastructure.devmachine import MACHINE_FINALIZER
from herd.runtime import NODE, ClientError, NotFound, Object, conditions
from herd.runtime.finalizers import remove_finalizer

from .kinds import cluster_key, labels_of, namespace_of
from .scope import Services, timeline_of
from .staticpods import delete_mirror_pods
from .workload import KubeconfigError

log = logging.getLogger("herd.providers.dev")

NODE_DELETE_TIMEOUT = 5.0  # best effort: a cluster that does not answer must not hold the machine back


async def reconcile_delete(devmachine: Object, services: Services, *, cluster_name: str | None,
                           node_name: str | None, control_plane: bool) -> None:
    """Tear the machine down; `cluster_name`/`node_name` come from the Machine, or from the DevMachine's label
    and addresses when the Machine is already gone.

    A control plane machine's static pods go with it and its etcd member stops answering; it stays a member, as
    on a real cluster, until the control plane provider removes it."""
    namespace = namespace_of(devmachine)
    cluster_name = cluster_name or labels_of(devmachine).get(CLUSTER_NAME_LABEL)
    node_name = node_name or _hostname(devmachine)
    conditions.set_condition(devmachine, "Ready", False, DELETING_REASON, "The DevMachine is being deleted")
    if cluster_name and node_name:
        key = cluster_key(namespace, cluster_name)
        await services.kubelets.stop(key, node_name)
        if control_plane and _etcd_started(devmachine):
            try:
                await services.servers.set_etcd_member(key, node_name, running=False)
            except (OSError, ValueError) as exc:  # the workload host is gone: so is the member
                log.info("could not stop etcd member %s of %s (continuing): %s", node_name, key, exc)
        if services.servers.is_running(key):  # otherwise there is no API to delete the Node from
            await _delete_from_workload(services, namespace, cluster_name, node_name, control_plane=control_plane)
    remove_finalizer(devmachine, MACHINE_FINALIZER)


def _etcd_started(devmachine: Object) -> bool:
    started = timeline_of(devmachine).get("etcd")
    return started is not None and started <= datetime.now(UTC)


async def _delete_from_workload(services: Services, namespace: str, cluster_name: str, node_name: str, *,
                                control_plane: bool) -> None:
    """Delete the machine's Node and mirror pods; best effort."""
    try:
        async with asyncio.timeout(NODE_DELETE_TIMEOUT):
            client = await services.clients.get(namespace, cluster_name)
            if control_plane:
                await delete_mirror_pods(client, node_name)
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

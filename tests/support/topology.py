"""`herd up` with the ClusterTopology gate, Clusters rendered by `herd generate cluster`, and what the topology
controller made for them."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .herd_up import HerdUp
from .waiting import eventually_sync

DATA = Path(__file__).parent.parent / "data"
UPSTREAM_CLASS = DATA / "clusterclass-in-memory.yaml"
UPSTREAM_TEMPLATE = DATA / "cluster-template-in-memory.yaml"
GATE = ("--feature-gates", "ClusterTopology=true")
OWNED = "topology.cluster.x-k8s.io/owned"
CLUSTER_NAME = "cluster.x-k8s.io/cluster-name"
DEPLOYMENT_TOPOLOGY = "topology.cluster.x-k8s.io/deployment-name"

eventually = functools.partial(eventually_sync, poll=0.5)


def generate(name: str, *flags: str, env: dict[str, str] | None = None) -> str:
    """`herd generate cluster NAME FLAGS...`'s output."""
    return subprocess.run([sys.executable, "-m", "herd.cli.main", "generate", "cluster", name, *flags],
                          capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}).stdout


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    found = [c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_]
    return found[0] if found else {}


class TopologyHerd(HerdUp):
    """kubectl helpers for the objects of one namespace."""

    namespace = "default"

    def cluster(self, name: str) -> dict[str, Any]:
        return self.get("cluster", name, self.namespace)

    def owned(self, kind: str, cluster: str) -> list[dict[str, Any]]:
        """The objects of a kind the topology made for the Cluster."""
        return self.items(kind, self.namespace, "-l", f"{CLUSTER_NAME}={cluster},{OWNED}")

    def machines(self, cluster: str) -> list[dict[str, Any]]:
        return self.items("machines", self.namespace, "-l", f"{CLUSTER_NAME}={cluster}")

    def patch_cluster(self, name: str, patch: list[dict[str, Any]]) -> None:
        self.kubectl("patch", "cluster", name, "-n", self.namespace, "--type", "json", "-p", json.dumps(patch))

    def wait_available(self, name: str, control_plane: int, workers: int, version: str,
                       timeout: float = 180.0, without: Collection[str] = ()) -> list[dict[str, Any]]:
        """The Cluster's Machines once it is Available, its topology reconciled, with the counts and version (and
        none of the Machines named in `without` left)."""
        def ready() -> list[dict[str, Any]]:
            cluster = self.cluster(name)
            assert condition(cluster, "Available").get("status") == "True", cluster.get("status")
            assert condition(cluster, "TopologyReconciled").get("reason") == "ReconcileSucceeded", cluster["status"]
            every = self.machines(name)
            assert not {m["metadata"]["name"] for m in every} & set(without), "replaced Machines still there"
            machines = [m for m in every if not m["metadata"].get("deletionTimestamp")]
            cp = [m for m in machines if "cluster.x-k8s.io/control-plane" in m["metadata"]["labels"]]
            summary = [(m["metadata"]["name"], m["spec"].get("version"), m.get("status", {}).get("phase"))
                       for m in machines]
            assert (len(cp), len(machines) - len(cp)) == (control_plane, workers), summary
            assert all(m["spec"].get("version") == version and condition(m, "Available").get("status") == "True"
                       for m in machines), summary
            return machines
        machines: list[dict[str, Any]] = eventually(ready, f"Cluster {name} Available", timeout=timeout)
        return machines

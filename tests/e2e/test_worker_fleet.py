"""A fleet of workers, end to end: `herd up`, `kubectl apply -f examples/cluster-with-workers.yaml` (rewritten into a
namespace of its own per test), then what a user does to a MachineDeployment with kubectl — scaling up and down
(with delete-machine annotations), a rolling update watched event by event against maxSurge/maxUnavailable, an
OnDelete rollout, a paused rollout, and a `herd up` killed with SIGKILL mid-rollout.

One `herd up` serves the module; the crash test runs a `herd up` of its own.
"""

from __future__ import annotations

import functools
import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import waiting
from support.herd_up import HerdUp, herd_up
from support.kcp import MachineWatch
from support.waiting import eventually_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster-with-workers.yaml"
MD = "fleet-md-0"
CONTROL_PLANE = "fleet-control-plane-0"
OLD, NEW = "v1.33.0", "v1.33.1"
WORKERS = f"cluster.x-k8s.io/deployment-name={MD}"
DELETE_MACHINE = "cluster.x-k8s.io/delete-machine"
POLL_SECONDS = 0.2
DEADLINE_SECONDS = 45.0
QUIET_SECONDS = 3.0

eventually = functools.partial(eventually_sync, timeout=DEADLINE_SECONDS, poll=POLL_SECONDS)
throughout = functools.partial(waiting.throughout, seconds=QUIET_SECONDS, poll=POLL_SECONDS)


class Herd(HerdUp):
    """A running `herd up`, and its MachineDeployments patched with kubectl."""

    def patch_md(self, namespace: str, patch: dict[str, Any]) -> None:
        self.kubectl("patch", "machinedeployment", MD, "-n", namespace, "--type", "merge", "-p", json.dumps(patch))


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Herd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), Herd) as running:
        yield running


def fleet(namespace: str, *, replicas: int = 3, startup: str = "0s", strategy: dict[str, Any] | None = None) -> str:
    """examples/cluster-with-workers.yaml in `namespace`, with `replicas` workers, VM/node startup durations of
    `startup` and the MachineDeployment's rollout strategy."""
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    for document in documents:
        document["metadata"]["namespace"] = namespace
        if document["kind"] in ("DevMachine", "DevMachineTemplate"):
            spec = document["spec"]["template"]["spec"] if document["kind"] == "DevMachineTemplate" else \
                document["spec"]
            for part in ("vm", "node"):
                spec["backend"]["inMemory"][part]["provisioning"]["startupDuration"] = startup
        if document["kind"] == "MachineDeployment":
            document["spec"]["replicas"] = replicas
            if strategy is not None:
                document["spec"]["rollout"] = {"strategy": strategy}
    return yaml.safe_dump_all(documents)


def apply_fleet(herd: Herd, namespace: str, **options: Any) -> None:
    herd.kubectl("create", "namespace", namespace)
    herd.kubectl("apply", "-f", "-", input=fleet(namespace, **options))


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def deleting(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def available(machine: dict[str, Any]) -> bool:
    """Available=True (or the Running phase) and not being deleted."""
    status = machine.get("status") or {}
    return not deleting(machine) and (conditions(machine).get("Available", {}).get("status") == "True"
                                      or status.get("phase") == "Running")


def name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def worker_machines(herd: Herd, namespace: str) -> list[dict[str, Any]]:
    return herd.items("machines", namespace, "-l", WORKERS)


def converged(herd: Herd, namespace: str, replicas: int, version: str = OLD) -> list[dict[str, Any]]:
    """Once exactly `replicas` worker Machines of `version` are Running with one KubeadmConfig and one DevMachine
    each (and no others), and every other MachineSet is at 0: the worker Machines."""
    def probe() -> list[dict[str, Any]]:
        machines = worker_machines(herd, namespace)
        summary = [(name(m), m["spec"].get("version"), (m.get("status") or {}).get("phase"), deleting(m))
                   for m in machines]
        assert len(machines) == replicas, summary
        assert all(m["spec"].get("version") == version and available(m) for m in machines), summary
        names = {name(m) for m in machines}
        for kind in ("kubeadmconfigs", "devmachines"):
            workers = {name(o) for o in herd.items(kind, namespace) if name(o) != CONTROL_PLANE}
            assert workers == names, (kind, sorted(workers), sorted(names))
        sets = [(name(ms), ms["spec"]["template"]["spec"].get("version"), ms["spec"].get("replicas"),
                 (ms.get("status") or {}).get("replicas") or 0, (ms.get("status") or {}).get("availableReplicas") or 0)
                for ms in herd.items("machinesets", namespace)]
        assert all(replicas_ == (replicas if v == version else 0) and status == ready == replicas_
                   for _, v, replicas_, status, ready in sets), sets
        return machines
    return eventually(probe, f"{replicas} {version} workers Running in {namespace}")


def no_orphans(herd: Herd, namespace: str) -> None:
    """Every DevMachine and KubeadmConfig is controlled by an existing Machine; one bootstrap data Secret per
    Machine."""
    machines = {m["metadata"]["uid"]: name(m) for m in herd.items("machines", namespace)}
    for kind in ("devmachines", "kubeadmconfigs"):
        for obj in herd.items(kind, namespace):
            owners = [ref for ref in obj["metadata"].get("ownerReferences") or []
                      if ref["kind"] == "Machine" and ref.get("controller")]
            assert owners and machines.get(owners[0]["uid"]) == owners[0]["name"], (kind, name(obj), owners)
    data_secrets = [name(s) for s in herd.items("secrets", namespace)
                    if any(ref["kind"] == "KubeadmConfig" for ref in s["metadata"].get("ownerReferences") or [])]
    assert sorted(data_secrets) == sorted(machines.values()), (data_secrets, machines)


# ----- 1. scaling -----

def test_scaling_up_and_down_converges_and_removes_annotated_machines_first(herd: Herd) -> None:
    namespace = "scale"
    apply_fleet(herd, namespace, replicas=3)
    converged(herd, namespace, 3)

    herd.kubectl("scale", "machinedeployment", MD, "-n", namespace, "--replicas=5")
    machines = converged(herd, namespace, 5)

    doomed = sorted(name(m) for m in machines)[:3]
    for machine in doomed:
        herd.kubectl("annotate", "machine", machine, "-n", namespace, f"{DELETE_MACHINE}=")
    herd.kubectl("scale", "machinedeployment", MD, "-n", namespace, "--replicas=2")
    survivors = {name(m) for m in converged(herd, namespace, 2)}
    assert survivors == {name(m) for m in machines} - set(doomed)
    no_orphans(herd, namespace)


# ----- 2. rolling update, watched -----

def test_a_rolling_update_respects_max_surge_and_max_unavailable_at_every_step(herd: Herd) -> None:
    namespace, replicas, max_surge, max_unavailable = "rolling", 3, 1, 0
    apply_fleet(herd, namespace, replicas=replicas, startup="1s",
                strategy={"type": "RollingUpdate",
                          "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}})
    old = {name(m) for m in converged(herd, namespace, replicas)}

    watch = MachineWatch().start_watch(herd, "machines", "-n", namespace, "-l", WORKERS)
    try:
        def synced() -> int:
            assert watch.states and set(watch.states[-1]) == old, watch.states[-1:]
            return len(watch.states)
        first = eventually(synced, "the watch lists the Machines")
        herd.patch_md(namespace, {"spec": {"template": {"spec": {"version": NEW}}}})
        new = {name(m) for m in converged(herd, namespace, replicas, NEW)}

        def caught_up() -> None:
            assert set(watch.states[-1]) == new, sorted(watch.states[-1])
        eventually(caught_up, "the watch sees the new Machines")
    finally:
        watch.stop()
    assert not old & new
    steps = watch.states[first - 1:]
    for step, state in enumerate(steps):
        live = [m for m in state.values() if not deleting(m)]
        ready = [m for m in state.values() if available(m)]
        summary = sorted((n[-5:], m["spec"].get("version"), (m.get("status") or {}).get("phase"), deleting(m))
                         for n, m in state.items())
        log = [line[11:200] for line in herd.process.lines if re.search(r"replicas$|(deleting|created) Machine ", line)]
        assert len(live) <= replicas + max_surge, (step, summary, log)
        assert len(ready) >= replicas - max_unavailable, (step, summary, log)
    versions = {m["spec"].get("version") for state in steps for m in state.values()}
    assert versions == {OLD, NEW} and len(steps) > 2 * replicas


# ----- 3. OnDelete -----

def untouched(herd: Herd, namespace: str, old: set[str]) -> None:
    """The workers are still the `old` Machines, at the old version, and no new-version MachineSet has grown."""
    machines = worker_machines(herd, namespace)
    assert {name(m) for m in machines} == old and all(m["spec"]["version"] == OLD for m in machines), machines
    grown = [name(ms) for ms in herd.items("machinesets", namespace)
             if ms["spec"]["template"]["spec"].get("version") == NEW and ms["spec"].get("replicas")]
    assert not grown, grown


def test_an_on_delete_rollout_replaces_only_the_machines_the_user_deletes(herd: Herd) -> None:
    namespace = "ondelete"
    apply_fleet(herd, namespace, replicas=3, strategy={"type": "OnDelete"})
    old = {name(m) for m in converged(herd, namespace, 3)}
    herd.patch_md(namespace, {"spec": {"template": {"spec": {"version": NEW}}}})

    throughout(lambda: untouched(herd, namespace, old))

    victim = sorted(old)[0]
    herd.kubectl("delete", "machine", victim, "-n", namespace)

    def replaced() -> None:
        machines = worker_machines(herd, namespace)
        summary = sorted((name(m), m["spec"]["version"], deleting(m), available(m)) for m in machines)
        assert len(machines) == 3 and all(available(m) for m in machines), summary
        assert {name(m) for m in machines if m["spec"]["version"] == OLD} == old - {victim}, summary
        assert len([m for m in machines if m["spec"]["version"] == NEW]) == 1, summary
    eventually(replaced, "one new-version Machine replaces the deleted one")
    throughout(replaced)


# ----- 4. paused -----

def test_a_paused_machine_deployment_freezes_its_rollout_until_resumed(herd: Herd) -> None:
    namespace = "paused"
    apply_fleet(herd, namespace, replicas=2)
    old = {name(m) for m in converged(herd, namespace, 2)}
    herd.patch_md(namespace, {"spec": {"paused": True}})
    herd.patch_md(namespace, {"spec": {"template": {"spec": {"version": NEW}}}})

    throughout(lambda: untouched(herd, namespace, old))  # frozen

    herd.patch_md(namespace, {"spec": {"paused": False}})
    new = {name(m) for m in converged(herd, namespace, 2, NEW)}
    assert not new & old


# ----- 5. crash mid-rollout -----

def test_herd_up_killed_mid_rollout_finishes_it_after_a_restart_without_orphans(tmp_path: Path) -> None:
    namespace = "crash"
    first_run = Herd.start(tmp_path / "data", tmp_path / "kubectl-cache")
    try:
        apply_fleet(first_run, namespace, replicas=3, startup="1s",
                    strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
        converged(first_run, namespace, 3)
        first_port = first_run.kubeconfig.read_text()
        first_run.patch_md(namespace, {"spec": {"template": {"spec": {"version": NEW}}}})

        def mid_rollout() -> None:
            machines = worker_machines(first_run, namespace)
            assert any(m["spec"]["version"] == NEW for m in machines), machines
        eventually(mid_rollout, "a new-version Machine")
    finally:
        first_run.process.stop(signal.SIGKILL)
    assert first_run.process.proc.returncode == -signal.SIGKILL

    second_run = Herd.start(tmp_path / "data", tmp_path / "kubectl-cache")
    try:
        assert second_run.kubeconfig.read_text() != first_port
        converged(second_run, namespace, 3, NEW)
        eventually(lambda: no_orphans(second_run, namespace), "no orphans")
    finally:
        assert second_run.process.stop() == 0, "".join(second_run.process.lines)

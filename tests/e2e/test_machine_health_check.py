"""MachineHealthCheck remediation and its triggerIf limit, end to end: `herd up`, a fleet of four workers from
examples/cluster-with-workers.yaml (rewritten into a namespace of its own per test, with short health-check
timeouts), and worker Nodes made NotReady with the Dev provider's `herd.dev/fail=node-not-ready` annotation on
their DevMachines — all through the real kubectl.

- Within triggerIf (2 of 4 failed, unhealthyLessThanOrEqualTo 50%): each failed Machine is judged unhealthy no
  sooner than its Ready=False timeout, deleted by its MachineSet and replaced. Within a bound derived from the
  timeouts the MachineDeployment has four available Machines again, none of them a failed one, the workload
  cluster has their Nodes and not the failed ones, and the health check counts four healthy, remediation allowed.
- Beyond triggerIf (3 of 4 failed, unhealthyLessThanOrEqualTo 2): RemediationAllowed=False says how many Machines
  are unhealthy against which limit, remediationsAllowed is 0, and for longer than the timeouts no Machine is
  handed over for remediation, deleted or added. With the health check paused while the faults clear, the same
  four Machines are healthy again once it resumes.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.herd_up import HerdUp, WatchRecorder, herd_up
from support.waiting import eventually_sync, throughout

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster-with-workers.yaml"
CLUSTER, MD = "fleet", "fleet-md-0"
MHC = MD  # the example names its MachineHealthCheck after the MachineDeployment it checks
CONTROL_PLANE = "fleet-control-plane-0"
WORKERS = f"cluster.x-k8s.io/deployment-name={MD}"
FAIL = "herd.dev/fail"
PAUSED = "cluster.x-k8s.io/paused"
REPLICAS = 4
WITHIN, BEYOND = "mhc-within", "mhc-beyond"  # a namespace, and in it a fleet, per test
FAILED = {WITHIN: 2, BEYOND: 3}  # of REPLICAS workers
LIMITS: dict[str, int | str] = {WITHIN: "50%", BEYOND: 2}  # triggerIf.unhealthyLessThanOrEqualTo

NOT_READY_TIMEOUT = 5  # unhealthyNodeConditions Ready=False / Ready=Unknown timeoutSeconds
NODE_STARTUP_TIMEOUT = 30  # checks.nodeStartupTimeoutSeconds, the webhook's minimum: a replacement's Node is due
SLACK = 30.0  # a loaded 2-core machine: reconciles, kubectl round trips, Machine deletion
# Node condition times are whole seconds, so a timeout can appear to run out up to a second early.
TRUNCATION = 1.0
REPLACED_WITHIN = NOT_READY_TIMEOUT + NODE_STARTUP_TIMEOUT + SLACK
QUIET_SECONDS = 2 * NOT_READY_TIMEOUT  # longer than any timeout a remediation would wait for
POLL_SECONDS = 0.3
DEADLINE_SECONDS = 45.0

eventually = functools.partial(eventually_sync, timeout=DEADLINE_SECONDS, poll=POLL_SECONDS)


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HerdUp]:
    """`herd up` with both tests' fleets applied at once, so that they come up side by side."""
    with herd_up(tmp_path_factory.mktemp("herd-up"), HerdUp) as running:
        for namespace, unhealthy_limit in LIMITS.items():
            apply_fleet(running, namespace, unhealthy_limit)
        yield running


# ----- the fleet and what kubectl shows of it -----

def fleet(namespace: str, unhealthy_limit: int | str) -> str:
    """examples/cluster-with-workers.yaml in `namespace`: REPLICAS workers that start at once, and a health check
    with short timeouts that remediates while at most `unhealthy_limit` Machines are unhealthy."""
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    for document in documents:
        document["metadata"]["namespace"] = namespace
        kind, spec = document["kind"], document["spec"]
        if kind in ("DevMachine", "DevMachineTemplate"):
            backend = (spec["template"]["spec"] if kind == "DevMachineTemplate" else spec)["backend"]["inMemory"]
            for part in ("vm", "node"):
                backend[part]["provisioning"]["startupDuration"] = "0s"
        if kind == "MachineDeployment":
            spec["replicas"] = REPLICAS
        if kind == "MachineHealthCheck":
            spec["checks"] = {
                "nodeStartupTimeoutSeconds": NODE_STARTUP_TIMEOUT,
                "unhealthyNodeConditions": [{"type": "Ready", "status": status, "timeoutSeconds": NOT_READY_TIMEOUT}
                                            for status in ("False", "Unknown")],
            }
            spec["remediation"] = {"triggerIf": {"unhealthyLessThanOrEqualTo": unhealthy_limit}}
    return yaml.safe_dump_all(documents)


def apply_fleet(herd: HerdUp, namespace: str, unhealthy_limit: int | str) -> None:
    herd.kubectl("create", "namespace", namespace)
    herd.kubectl("apply", "-f", "-", input=fleet(namespace, unhealthy_limit))


def name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def uid(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["uid"])


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    """The condition of this type ({} when absent)."""
    found = [c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_]
    return found[0] if found else {}


def deleting(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def available(machine: dict[str, Any]) -> bool:
    return not deleting(machine) and condition(machine, "Available").get("status") == "True" \
        and (machine.get("status") or {}).get("phase") == "Running"


def worker_machines(herd: HerdUp, namespace: str) -> list[dict[str, Any]]:
    return herd.items("machines", namespace, "-l", WORKERS)


def summary(machines: list[dict[str, Any]]) -> str:
    """What a failure message shows of each Machine, a line each."""
    def line(m: dict[str, Any]) -> str:
        shown = [f"phase={(m.get('status') or {}).get('phase')}", f"deleting={deleting(m)}"]
        for type_ in ("Available", "NodeHealthy", "HealthCheckSucceeded", "OwnerRemediated"):
            found = condition(m, type_)
            if found:
                text = f"{type_}={found.get('status')}/{found.get('reason')} {found.get('message') or ''}"
                shown.append(text.strip())
        return f"  {name(m)} uid={uid(m)}: " + ", ".join(shown)
    return "\n" + "\n".join(line(m) for m in sorted(machines, key=name))


def health_check(herd: HerdUp, namespace: str) -> dict[str, Any]:
    return herd.get("machinehealthcheck", MHC, namespace)


def healthy_fleet(herd: HerdUp, namespace: str, *, timeout: float = DEADLINE_SECONDS,
                  never: frozenset[str] = frozenset()) -> dict[str, str]:
    """Once REPLICAS worker Machines (none named in `never`) are available and judged healthy, the
    MachineDeployment counts them available and the health check counts them all healthy with remediation
    allowed: the Machines' uids by name."""
    def probe() -> dict[str, str]:
        machines = worker_machines(herd, namespace)
        names = sorted(name(m) for m in machines)
        assert len(machines) == REPLICAS and all(map(available, machines)), summary(machines)
        assert not never & set(names), f"failed Machines back: {sorted(never & set(names))}{summary(machines)}"
        judged = [condition(m, "HealthCheckSucceeded") for m in machines]
        assert all(c.get("status") == "True" for c in judged), summary(machines)
        md_status = herd.get("machinedeployment", MD, namespace).get("status") or {}
        assert md_status.get("availableReplicas") == REPLICAS and md_status.get("readyReplicas") == REPLICAS, \
            f"MachineDeployment status: {md_status}"
        status = health_check(herd, namespace).get("status") or {}
        allowed = condition({"status": status}, "RemediationAllowed")
        assert (status.get("expectedMachines"), status.get("currentHealthy"), status.get("targets")) == \
            (REPLICAS, REPLICAS, names), f"MachineHealthCheck status: {status}"
        assert (allowed.get("status"), allowed.get("reason")) == ("True", "RemediationAllowed"), f"{allowed}"
        return {name(m): uid(m) for m in machines}
    return eventually(probe, f"{REPLICAS} healthy workers in {namespace}", timeout=timeout)


def paused(herd: HerdUp, namespace: str) -> None:
    """The health check reports Paused=True."""
    found = condition(health_check(herd, namespace), "Paused")
    assert found.get("status") == "True", f"Paused: {found}"


def set_fault(herd: HerdUp, namespace: str, machines: list[str], fault: str | None) -> None:
    """Annotate (or, with None, clear) the DevMachines of these Machines, in one kubectl command."""
    devmachines = [herd.get("machine", m, namespace)["spec"]["infrastructureRef"]["name"] for m in machines]
    change = f"{FAIL}={fault}" if fault else f"{FAIL}-"
    herd.kubectl("annotate", "devmachine", *devmachines, "-n", namespace, "--overwrite", change)


def workload_nodes(herd: HerdUp, namespace: str, path: Path) -> dict[str, str]:
    """The workload cluster's Nodes and their Ready status, through the kubeconfig Secret."""
    secret = herd.get("secret", f"{CLUSTER}-kubeconfig", namespace)
    path.write_bytes(base64.b64decode(secret["data"]["value"]))
    nodes = json.loads(herd.kubectl("--kubeconfig", str(path), "get", "nodes", "-o", "json").stdout)["items"]
    return {name(n): str(condition(n, "Ready").get("status")) for n in nodes}


def node_names(herd: HerdUp, namespace: str, machines: list[str]) -> list[str]:
    return [herd.get("machine", m, namespace)["status"]["nodeRef"]["name"] for m in machines]


# ----- every change to the Machines, as `kubectl get machines -w` reports it -----

@dataclass
class Event:
    at: float  # time.monotonic() when kubectl printed it
    type: str
    machine: dict[str, Any]


@dataclass
class MachineWatch(WatchRecorder):
    """`kubectl get machines -w --output-watch-events -o json` on the workers, every event with its time."""

    events: list[Event] = field(default_factory=list)

    def record(self, type_: str, machine: dict[str, Any]) -> None:
        self.events.append(Event(time.monotonic(), type_, machine))

    def of(self, machine: str) -> list[Event]:
        return [e for e in list(self.events) if name(e.machine) == machine]

    def first(self, machine: str, holds: Callable[[Event], bool]) -> Event | None:
        return next((e for e in self.of(machine) if holds(e)), None)


def judged_unhealthy(event: Event) -> bool:
    return condition(event.machine, "HealthCheckSucceeded").get("status") == "False"


def handed_over(event: Event) -> bool:
    return condition(event.machine, "OwnerRemediated").get("status") == "False"


# ----- 1. within triggerIf -----

def test_failed_workers_within_trigger_if_are_replaced_by_healthy_ones_within_the_timeouts(
        herd: HerdUp, tmp_path: Path) -> None:
    namespace, failed = WITHIN, FAILED[WITHIN]
    before = healthy_fleet(herd, namespace)
    victims = sorted(before)[:failed]
    survivors = {n: u for n, u in before.items() if n not in victims}
    victim_nodes = node_names(herd, namespace, victims)

    watch = MachineWatch().start_watch(herd, "machines", "-n", namespace, "-l", WORKERS)
    try:
        def listed() -> None:
            assert all(watch.of(n) for n in before), f"watched so far: {[name(e.machine) for e in watch.events]}"
        eventually(listed, "the watch lists the Machines")
        started = time.monotonic()
        set_fault(herd, namespace, victims, "node-not-ready")
        after = healthy_fleet(herd, namespace, timeout=REPLACED_WITHIN, never=frozenset(victims))
        took = time.monotonic() - started
    finally:
        watch.stop()

    for victim in victims:
        history = [(round(e.at - started, 1), e.type, condition(e.machine, "HealthCheckSucceeded").get("reason"),
                    condition(e.machine, "OwnerRemediated").get("reason")) for e in watch.of(victim)]
        judged = watch.first(victim, judged_unhealthy)
        assert judged is not None, f"{victim} never judged unhealthy: {history}"
        verdict = condition(judged.machine, "HealthCheckSucceeded")
        assert verdict["reason"] == "UnhealthyNode", f"{verdict}"
        assert verdict["message"] == f"Health check failed: Condition Ready on Node has had status False for more " \
                                     f"than {NOT_READY_TIMEOUT}s", f"{verdict}"
        assert judged.at - started >= NOT_READY_TIMEOUT - TRUNCATION, f"{victim} judged before its timeout: {history}"
        assert watch.first(victim, handed_over) is not None, f"{victim} not handed over: {history}"
        assert watch.first(victim, lambda e: e.type == "DELETED") is not None, f"{victim} not deleted: {history}"
    for survivor in survivors:
        assert watch.first(survivor, lambda e: judged_unhealthy(e) or deleting(e.machine)) is None, \
            f"{survivor} touched: {[(e.type, summary([e.machine])) for e in watch.of(survivor)]}"

    assert {n: after[n] for n in survivors} == survivors, f"survivors {survivors}, now {after}"
    replacements = sorted(set(after) - set(survivors))
    assert len(replacements) == failed and not set(replacements) & set(victims), \
        f"replacements {replacements}, failed {victims}"
    assert took <= REPLACED_WITHIN, f"replaced after {took:.1f}s, more than {REPLACED_WITHIN:.0f}s"

    status = health_check(herd, namespace)["status"]
    assert status["remediationsAllowed"] == REPLICAS // 2, f"{status}"  # 50% of REPLICAS, none unhealthy

    control_plane_node = node_names(herd, namespace, [CONTROL_PLANE])
    wanted = sorted([*node_names(herd, namespace, sorted(after)), *control_plane_node])

    def nodes_replaced() -> None:
        nodes = workload_nodes(herd, namespace, tmp_path / "workload.kubeconfig")
        assert sorted(nodes) == wanted and set(nodes.values()) == {"True"}, f"Nodes {nodes}, wanted {wanted}"
        assert not set(nodes) & set(victim_nodes), f"Nodes {nodes}, failed {victim_nodes}"
    eventually(nodes_replaced, "the workload cluster has the replacements' Nodes, all Ready, and not the failed ones")


# ----- 2. beyond triggerIf -----

def test_failures_beyond_trigger_if_are_left_alone_and_remediation_allowed_false_says_why(
        herd: HerdUp, tmp_path: Path) -> None:
    namespace, failed = BEYOND, FAILED[BEYOND]
    before = healthy_fleet(herd, namespace)
    victims = sorted(before)[:failed]
    watch = MachineWatch().start_watch(herd, "machines", "-n", namespace, "-l", WORKERS)
    try:
        def listed() -> None:
            assert all(watch.of(n) for n in before), f"watched so far: {[name(e.machine) for e in watch.events]}"
        eventually(listed, "the watch lists the Machines")
        set_fault(herd, namespace, victims, "node-not-ready")
        refused_and_left_alone(herd, namespace, victims)
        recovered_while_paused(herd, namespace, victims, tmp_path / "workload.kubeconfig")
        after = healthy_fleet(herd, namespace)
        assert after == before, f"was {before}, now {after}"
    finally:
        watch.stop()
    touched = [(e.type, summary([e.machine])) for e in watch.events if name(e.machine) not in before
               or e.type == "DELETED" or deleting(e.machine) or condition(e.machine, "OwnerRemediated")]
    assert not touched, f"no Machine may be added, deleted or handed over for remediation: {touched}"


def refused_and_left_alone(herd: HerdUp, namespace: str, victims: list[str]) -> None:
    """The health check judges the victims unhealthy but refuses to remediate, and holds to that."""
    failed, limit = len(victims), LIMITS[namespace]
    before = {name(m): uid(m) for m in worker_machines(herd, namespace)}

    def refused() -> None:
        machines = worker_machines(herd, namespace)
        mhc = health_check(herd, namespace)
        status, allowed = mhc.get("status") or {}, condition(mhc, "RemediationAllowed")
        assert (allowed.get("status"), allowed.get("reason")) == ("False", "TooManyUnhealthy"), f"{allowed}"
        assert allowed.get("message") == f"Remediation is not allowed: {failed} of {REPLICAS} Machines are " \
            f"unhealthy or not yet started, more than unhealthyLessThanOrEqualTo ({limit}) permits", f"{allowed}"
        assert (status.get("expectedMachines"), status.get("currentHealthy"), status.get("remediationsAllowed")) \
            == (REPLICAS, REPLICAS - failed, 0), f"{status}"
        verdicts = {name(m): condition(m, "HealthCheckSucceeded") for m in machines}
        assert sorted(n for n, v in verdicts.items() if v.get("reason") == "UnhealthyNode"
                      and v.get("status") == "False") == victims, summary(machines)
    eventually(refused, f"{failed} of {REPLICAS} judged unhealthy and remediation refused",
               timeout=NOT_READY_TIMEOUT + SLACK)

    def untouched() -> None:
        machines = worker_machines(herd, namespace)
        assert {name(m): uid(m) for m in machines} == before, f"was {before}, now{summary(machines)}"
        assert not any(deleting(m) or condition(m, "OwnerRemediated") for m in machines), summary(machines)
        assert condition(health_check(herd, namespace), "RemediationAllowed").get("status") == "False", \
            "RemediationAllowed no longer False"
    throughout(untouched, seconds=QUIET_SECONDS, poll=POLL_SECONDS)


def recovered_while_paused(herd: HerdUp, namespace: str, victims: list[str], kubeconfig: Path) -> None:
    """Clear the faults with the health check paused, and resume it once every Node is Ready again.

    Nodes recover one by one: once no more than the limit are still failing, the health check would rightly
    remediate those. Pausing it while the faults clear keeps recovery apart from remediation."""
    herd.kubectl("annotate", "machinehealthcheck", MHC, "-n", namespace, f"{PAUSED}=")
    eventually(lambda: paused(herd, namespace), "the health check reports Paused")
    set_fault(herd, namespace, victims, None)
    victim_nodes = node_names(herd, namespace, victims)

    def nodes_ready() -> None:
        nodes = workload_nodes(herd, namespace, kubeconfig)
        assert all(nodes.get(n) == "True" for n in victim_nodes), f"Nodes {nodes}, failed {victim_nodes}"
        machines = [herd.get("machine", m, namespace) for m in victims]  # the controllers see them Ready too
        assert all(condition(m, "NodeHealthy").get("status") == "True" for m in machines), summary(machines)
    eventually(nodes_ready, "the failed Nodes Ready again")
    herd.kubectl("annotate", "machinehealthcheck", MHC, "-n", namespace, f"{PAUSED}-")

"""herd on a real kube-apiserver + etcd (built by `make real-k8s`), through `herd init --kubeconfig`, as a user
moving off the embedded plane would run it: the controllers under a ServiceAccount of their own (not in
system:masters; kube-apiserver enforces RBAC), the Cluster API CRDs and webhooks installed (kube-apiserver calls
the manager's webhook server on 127.0.0.1 with its caBundle), and what the embedded plane's e2e tests check,
against the strict server: the first cluster to Running, a MachineDeployment scaled and rolled within
maxSurge/maxUnavailable at every step, a MachineHealthCheck remediation, and a KubeadmControlPlane to Available.

One kube-apiserver and one `herd init` serve the module; every fleet is applied at the start, in a namespace of
its own, so they come up side by side. Skipped while the binaries are not built (failed in CI instead).
"""

from __future__ import annotations

import base64
import collections
import functools
import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.herd_up import Process
from support.kcp import (
    FAILURE_DOMAINS,
    ControlPlaneHerd,
    MachineWatch,
    available,
    condition_status,
    ha_cluster,
    name,
    summary,
)
from support.plane import kubectl
from support.realk8s import KUBE_APISERVER, RealKubernetes, real_kubernetes, require_binaries
from support.waiting import eventually_sync

pytestmark = pytest.mark.timeout(240)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster-with-workers.yaml"
SERVICE_ACCOUNT = "system:serviceaccount:herd-system:herd-controller-manager"
MD, CONTROL_PLANE, OLD, NEW = "fleet-md-0", "fleet-control-plane-0", "v1.33.0", "v1.33.1"
WORKERS = f"cluster.x-k8s.io/deployment-name={MD}"
FIRST, ROLLING, MHC, HA = "first", "rolling", "mhc", "ha"  # a namespace, and a cluster in it, per test
MAX_SURGE, MAX_UNAVAILABLE = 1, 0
NOT_READY_TIMEOUT = 5

eventually = functools.partial(eventually_sync, timeout=90.0, poll=0.5)


@dataclass
class RealHerd(ControlPlaneHerd):
    """`herd init` against kube-apiserver, and kubectl there as its admin."""

    real: RealKubernetes | None = None

    @property
    def kubeconfig(self) -> Path:
        assert self.real is not None
        return self.real.kubeconfig

    def fleet_workers(self, namespace: str) -> list[dict[str, Any]]:
        """The Machines of the namespace's fleet-md-0."""
        return self.items("machines", namespace, "-l", WORKERS)

    def apply_in(self, namespace: str, manifest: str) -> None:
        self.kubectl("create", "namespace", namespace)
        self.kubectl("apply", "-f", "-", input=manifest)


def workers_fleet(namespace: str, *, replicas: int, startup: str = "0s", strategy: dict[str, Any] | None = None,
                  health_check: bool = False) -> str:
    """examples/cluster-with-workers.yaml in `namespace` with `replicas` workers starting in `startup`; its health
    check (short timeouts, 50% may be remediated) only when asked for."""
    documents = []
    for document in yaml.safe_load_all(EXAMPLE.read_text()):
        document["metadata"]["namespace"] = namespace
        kind, spec = document["kind"], document["spec"]
        if kind in ("DevMachine", "DevMachineTemplate"):
            backend = (spec["template"]["spec"] if kind == "DevMachineTemplate" else spec)["backend"]["inMemory"]
            for part in ("vm", "node"):
                backend[part]["provisioning"]["startupDuration"] = startup
        elif kind == "MachineDeployment":
            spec["replicas"] = replicas
            if strategy is not None:
                spec["rollout"] = {"strategy": strategy}
        elif kind == "MachineHealthCheck":
            if not health_check:
                continue
            spec["checks"] = {"nodeStartupTimeoutSeconds": 30, "unhealthyNodeConditions": [
                {"type": "Ready", "status": status, "timeoutSeconds": NOT_READY_TIMEOUT}
                for status in ("False", "Unknown")]}
            spec["remediation"] = {"triggerIf": {"unhealthyLessThanOrEqualTo": "50%"}}
        documents.append(document)
    return yaml.safe_dump_all(documents)


# kube-apiserver's audit log of every request the controllers' ServiceAccount makes (and of nothing else)
AUDIT_POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                "rules": [{"level": "Metadata", "users": [SERVICE_ACCOUNT]}, {"level": "None"}]}
# answers a controller expects now and then: a read of something not there yet, a write on a stale version, and
# "storage is (re)initializing" (429) while kube-apiserver's watch cache of a CRD just installed fills up
EXPECTED_REFUSALS = {404, 409, 429}


@pytest.fixture(scope="module")
def real_k8s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKubernetes]:
    require_binaries()
    directory = tmp_path_factory.mktemp("real-k8s")
    (directory / "audit-policy.yaml").write_text(yaml.safe_dump(AUDIT_POLICY))
    with real_kubernetes(directory, f"--audit-policy-file={directory / 'audit-policy.yaml'}",
                         f"--audit-log-path={directory / 'audit.log'}") as real:
        print(f"etcd + kube-apiserver ready in {real.startup_seconds:.1f} s")
        yield real


@pytest.fixture(scope="module")
def herd(real_k8s: RealKubernetes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHerd]:
    base = tmp_path_factory.mktemp("herd-init")
    process = Process("init", "--kubeconfig", str(real_k8s.kubeconfig), "--data-dir", str(base / "data"))
    running = RealHerd(process, base / "data", base / "kubectl-cache", real=real_k8s)
    try:
        process.wait_for(r"manager metrics and probes on", timeout=120)
        running.apply_in(FIRST, workers_fleet(FIRST, replicas=3, startup="1s"))
        running.apply_in(ROLLING, workers_fleet(ROLLING, replicas=3, startup="1s", strategy={
            "type": "RollingUpdate", "rollingUpdate": {"maxSurge": MAX_SURGE, "maxUnavailable": MAX_UNAVAILABLE}}))
        running.apply_in(MHC, workers_fleet(MHC, replicas=4, health_check=True))
        running.apply_in(HA, ha_cluster(HA, workers=1))
        yield running
    except BaseException:
        process.stop()
        raise
    assert process.stop() == 0, "".join(process.lines)


# ----- the server, and who the controllers are on it -----

def test_kubectl_reaches_the_real_api_server_which_authenticates_and_authorizes(real_k8s: RealKubernetes,
                                                                                 tmp_path: Path) -> None:
    built = subprocess.run([str(KUBE_APISERVER), "--version"], capture_output=True, text=True, check=True)
    version = json.loads(kubectl(real_k8s.kubeconfig, tmp_path / "c", "version", "-o", "json").stdout)
    assert built.stdout.split()[-1] == version["serverVersion"]["gitVersion"]
    wrong_token = kubectl(real_k8s.kubeconfig, tmp_path / "c", "get", "ns", "--token=not-a-token", check=False)
    assert wrong_token.returncode != 0 and re.search(r"Unauthorized|must be logged in", wrong_token.stderr)
    can_i = kubectl(real_k8s.kubeconfig, tmp_path / "c", "auth", "can-i", "list", "namespaces",
                    "--as=system:serviceaccount:default:nobody", check=False)
    assert (can_i.returncode, can_i.stdout.strip()) == (1, "no")


def test_the_controllers_run_as_a_service_account_outside_system_masters(herd: RealHerd) -> None:
    announced = herd.process.wait_for(r"^controllers run as (\S+) \(groups: (.*)\)")
    assert announced.group(1) == SERVICE_ACCOUNT and "system:masters" not in announced.group(2)
    token = (herd.data_dir / "controller-manager.token").read_text().strip()
    assert (herd.data_dir / "controller-manager.token").stat().st_mode & 0o077 == 0
    # kube-apiserver's own answer for the token the manager uses (SelfSubjectReview)
    whoami = json.loads(herd.kubectl("auth", "whoami", f"--token={token}", "-o", "json").stdout)
    user = whoami["status"]["userInfo"]
    assert user["username"] == SERVICE_ACCOUNT and "system:masters" not in user["groups"], user
    for verb, resource in (("create", "clusterrolebindings"), ("delete", "customresourcedefinitions"),
                           ("list", "pods"), ("*", "*")):
        refused = herd.kubectl("auth", "can-i", verb, resource, f"--token={token}", check=False)
        assert refused.stdout.strip() == "no", (verb, resource)
    assert herd.kubectl("auth", "can-i", "patch", "machines.cluster.x-k8s.io", f"--token={token}",
                        check=False).stdout.strip() == "yes"


def test_crds_installed_and_the_webhooks_called_on_the_manager_with_its_ca(herd: RealHerd) -> None:
    crds = herd.kubectl("get", "crd", "-o", "name").stdout.split()
    for crd in ("clusters.cluster.x-k8s.io", "machinedeployments.cluster.x-k8s.io",
                "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io", "devmachines.infrastructure.cluster.x-k8s.io"):
        assert f"customresourcedefinition.apiextensions.k8s.io/{crd}" in crds
    ca = (herd.data_dir / "webhook-ca.crt").read_bytes()
    for kind in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        for configuration in json.loads(herd.kubectl("get", kind, "-o", "json").stdout)["items"]:
            for hook in configuration["webhooks"]:
                assert re.match(r"^https://127\.0\.0\.1:\d+/(mutate|validate)-", hook["clientConfig"]["url"]), hook
                assert base64.b64decode(hook["clientConfig"]["caBundle"]) == ca, hook["name"]
    md = herd.get("machinedeployment", MD, FIRST)  # defaulted by the mutating webhook
    assert md["spec"]["selector"]["matchLabels"] == {"cluster.x-k8s.io/cluster-name": "fleet",
                                                     "cluster.x-k8s.io/deployment-name": MD}
    refused = herd.kubectl("patch", "md", MD, "-n", FIRST, "--type", "merge", "-p", '{"spec":{"clusterName":"x"}}',
                           check=False)
    assert refused.returncode != 0 and "spec.clusterName" in refused.stderr and "immutable" in refused.stderr


# ----- the first cluster, workers scaled and rolled -----

def test_the_first_cluster_reaches_running(herd: RealHerd) -> None:
    def running() -> None:
        cluster = herd.get("cluster", "fleet", FIRST)
        assert (cluster.get("status") or {}).get("phase") == "Provisioned", cluster.get("status")
        assert condition_status(cluster, "Available") == "True", cluster["status"]
        machines = herd.items("machines", FIRST)
        assert len(machines) == 4 and all(available(m) for m in machines), summary(machines)
        assert all((m.get("status") or {}).get("nodeRef") for m in machines), summary(machines)
    eventually(running, "the first cluster Provisioned with 4 Running Machines")


def converged(herd: RealHerd, namespace: str, replicas: int, version: str = OLD) -> list[dict[str, Any]]:
    """Once exactly `replicas` worker Machines of `version` are available with a KubeadmConfig and a DevMachine
    each, and every other MachineSet is at 0: the worker Machines."""
    def probe() -> list[dict[str, Any]]:
        machines = herd.fleet_workers(namespace)
        assert len(machines) == replicas, summary(machines)
        assert all(m["spec"].get("version") == version and available(m) for m in machines), summary(machines)
        names = {name(m) for m in machines}
        for kind in ("kubeadmconfigs", "devmachines"):
            assert {name(o) for o in herd.items(kind, namespace) if name(o) != CONTROL_PLANE} == names, kind
        sets = [(ms["spec"]["template"]["spec"].get("version"), ms["spec"].get("replicas"),
                 (ms.get("status") or {}).get("availableReplicas") or 0) for ms in herd.items("machinesets", namespace)]
        assert all(want == (replicas if v == version else 0) == have for v, want, have in sets), sets
        status = herd.get("machinedeployment", MD, namespace).get("status") or {}
        assert (status.get("replicas"), status.get("availableReplicas"), status.get("upToDateReplicas")) == \
            (replicas,) * 3, status
        return machines
    found: list[dict[str, Any]] = eventually(probe, f"{replicas} {version} workers in {namespace}")
    return found


def test_scaling_and_a_rolling_update_keep_max_surge_and_max_unavailable(herd: RealHerd) -> None:
    converged(herd, ROLLING, 3)
    herd.kubectl("scale", "machinedeployment", MD, "-n", ROLLING, "--replicas=4")
    machines = converged(herd, ROLLING, 4)
    doomed = sorted(name(m) for m in machines)[:2]
    herd.kubectl("annotate", "machine", *doomed, "-n", ROLLING, "cluster.x-k8s.io/delete-machine=")
    herd.kubectl("scale", "machinedeployment", MD, "-n", ROLLING, "--replicas=2")
    old = {name(m) for m in converged(herd, ROLLING, 2)}
    assert old == {name(m) for m in machines} - set(doomed)

    watch = MachineWatch().start_watch(herd, "machines", "-n", ROLLING, "-l", WORKERS)
    try:
        def synced() -> int:
            assert watch.states and set(watch.states[-1]) == old, watch.states[-1:]
            return len(watch.states)
        first = eventually(synced, "the watch lists the Machines")
        herd.patch("machinedeployment", MD, ROLLING, {"spec": {"template": {"spec": {"version": NEW}}}})
        new = {name(m) for m in converged(herd, ROLLING, 2, NEW)}
        eventually(lambda: set(watch.states[-1]) == new, "the watch sees the new Machines")
    finally:
        watch.stop()
    assert not old & new
    steps = watch.states[first - 1:]
    for step, state in enumerate(steps):
        live = [m for m in state.values() if not m["metadata"].get("deletionTimestamp")]
        assert len(live) <= 2 + MAX_SURGE, (step, summary(list(state.values())))
        assert len([m for m in state.values() if available(m)]) >= 2 - MAX_UNAVAILABLE, \
            (step, summary(list(state.values())))
    assert {m["spec"].get("version") for state in steps for m in state.values()} == {OLD, NEW}


# ----- a health check remediates -----

def test_a_machine_health_check_replaces_a_failed_worker(herd: RealHerd) -> None:
    before = {name(m): m["metadata"]["uid"] for m in converged(herd, MHC, 4)}
    victim = sorted(before)[0]
    devmachine = herd.get("machine", victim, MHC)["spec"]["infrastructureRef"]["name"]
    herd.kubectl("annotate", "devmachine", devmachine, "-n", MHC, "herd.dev/fail=node-not-ready")

    def replaced() -> None:
        machines = herd.fleet_workers(MHC)
        assert victim not in {name(m) for m in machines}, summary(machines)
        assert len(machines) == 4 and all(available(m) for m in machines), summary(machines)
        status = herd.get("machinehealthcheck", MD, MHC).get("status") or {}
        assert (status.get("expectedMachines"), status.get("currentHealthy")) == (4, 4), status
    eventually(replaced, f"{victim} replaced by a healthy Machine")
    survivors = {name(m): m["metadata"]["uid"] for m in herd.fleet_workers(MHC) if name(m) in before}
    assert survivors == {n: u for n, u in before.items() if n != victim}


# ----- the KubeadmControlPlane -----

def test_the_kubeadm_control_plane_becomes_available_across_the_failure_domains(herd: RealHerd) -> None:
    def ready() -> list[dict[str, Any]]:
        kcp = herd.kcp(HA)
        status = kcp.get("status") or {}
        assert condition_status(kcp, "Available") == "True", status
        assert (status.get("replicas"), status.get("readyReplicas"), status.get("upToDateReplicas")) == (3,) * 3, \
            status
        machines = herd.control_plane_machines(HA)
        assert len(machines) == 3 and all(available(m) for m in machines), summary(machines)
        return machines
    machines: list[dict[str, Any]] = eventually(ready, "the KubeadmControlPlane Available with 3 Machines",
                                                timeout=150.0)
    assert sorted(m["spec"].get("failureDomain") for m in machines) == list(FAILURE_DOMAINS)
    assert condition_status(herd.kcp(HA), "EtcdClusterHealthy") == "True"
    uid = herd.kcp(HA)["metadata"]["uid"]
    for purpose in ("ca", "etcd", "sa", "kubeconfig"):
        owners = herd.get("secret", f"ha-{purpose}", HA)["metadata"].get("ownerReferences") or []
        assert [(r["kind"], r["uid"]) for r in owners if r.get("controller")] == [("KubeadmControlPlane", uid)]


def test_kube_apiserver_never_refused_the_controllers(herd: RealHerd) -> None:
    """Last: after everything above ran, kube-apiserver refused none of the controllers' requests (its audit log)
    but for the expected NotFound and Conflict answers, and the manager logged no refusal either."""
    assert herd.real is not None
    time.sleep(1)
    events = [json.loads(line) for line in (herd.real.directory / "audit.log").read_text().splitlines()]
    assert events and {e["user"]["username"] for e in events} == {SERVICE_ACCOUNT}
    codes = collections.Counter(e["responseStatus"]["code"] for e in events)
    print(f"the controllers' requests to kube-apiserver by answer: {dict(sorted(codes.items()))}")
    refused = sorted({(e["responseStatus"]["code"], e["verb"], re.sub(r"\?.*", "", e["requestURI"]),
                       e["responseStatus"].get("message", "")[:200]) for e in events
                      if e["responseStatus"]["code"] >= 400 and e["responseStatus"]["code"] not in EXPECTED_REFUSALS})
    assert not refused, "\n".join(map(str, refused))
    logged = [line for line in herd.process.lines if re.search(r"\b(403|422)\b|[Ff]orbidden|is invalid", line)]
    assert not logged, "".join(logged[:20])

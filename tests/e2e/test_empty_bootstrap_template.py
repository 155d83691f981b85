"""A KubeadmConfigTemplate with no spec (upstream's in-memory ClusterClass uses one on purpose; the schema refuses
`spec: {template: {}}`, its template must set something): `herd up`, examples/cluster-with-workers.yaml with its
workers' template emptied, and the MachineDeployment's Machines come up Running and Ready, each with a KubeadmConfig
of its own cloned without a spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from support.herd_up import HerdUp, herd_up
from support.waiting import eventually_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster-with-workers.yaml"
NAMESPACE, MD, WORKERS = "empty-template", "fleet-md-0", 2


def fleet_with_an_empty_bootstrap_template() -> str:
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    for document in documents:
        document["metadata"]["namespace"] = NAMESPACE
        kind, spec = document["kind"], document.get("spec")
        if kind == "KubeadmConfigTemplate":
            del document["spec"]
        if kind in ("DevMachine", "DevMachineTemplate"):
            backend = (spec["template"]["spec"] if kind == "DevMachineTemplate" else spec)["backend"]["inMemory"]
            for part in ("vm", "node"):
                backend[part]["provisioning"]["startupDuration"] = "0s"
        if kind == "MachineDeployment":
            spec["replicas"] = WORKERS
    return yaml.safe_dump_all(documents)


def ready(machine: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in (machine.get("status") or {}).get("conditions") or []}
    return conditions.get("Ready") == "True" and (machine.get("status") or {}).get("phase") == "Running"


def test_a_machine_deployment_with_an_empty_kubeadm_config_template_gets_ready_machines(tmp_path: Path) -> None:
    with herd_up(tmp_path, HerdUp) as herd:
        herd.kubectl("create", "namespace", NAMESPACE)
        herd.kubectl("apply", "-f", "-", input=fleet_with_an_empty_bootstrap_template())
        assert "spec" not in herd.get("kubeadmconfigtemplate", MD, NAMESPACE)

        def workers_ready() -> list[dict[str, Any]]:
            machines = herd.items("machines", NAMESPACE, "-l", f"cluster.x-k8s.io/deployment-name={MD}")
            assert len(machines) == WORKERS and all(ready(m) for m in machines), \
                [(m["metadata"]["name"], (m.get("status") or {}).get("phase")) for m in machines]
            assert herd.get("machinedeployment", MD, NAMESPACE)["status"].get("readyReplicas") == WORKERS
            return machines
        machines = eventually_sync(workers_ready, "the workers Ready", timeout=60, poll=0.3)

        configs = {c["metadata"]["name"]: c for c in herd.items("kubeadmconfigs", NAMESPACE)}
        for machine in machines:
            config = configs[machine["metadata"]["name"]]
            # nothing but the join discovery the bootstrap controller fills in
            assert set(config.get("spec") or {}) <= {"joinConfiguration"}, config["spec"]
            assert (config.get("status") or {}).get("dataSecretName"), config.get("status")
        assert not [line for line in herd.process.lines if "Traceback" in line or " 422 " in line]

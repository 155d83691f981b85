"""`make run`: start the embedded management plane (`herd up`), create a cluster with workers, keep running.

Applies examples/ha-cluster.yaml (a KubeadmControlPlane of three machines over three failure domains,
a MachineDeployment of three workers and a MachineHealthCheck for each), waits until every Machine is
Running and both are Available, prints the machines, the cluster's tree (`herd describe cluster ha`) and how
to reach the workload cluster, then keeps the plane running until Ctrl-C. State lives in ~/.herd (or
$HERD_DATA_DIR), so a second run resumes it.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLUSTER = "ha"
MACHINES = 6  # three control-plane machines and three workers


def main() -> int:
    data_dir = Path(os.environ.get("HERD_DATA_DIR", Path.home() / ".herd"))
    port = os.environ.get("HERD_PORT", "6443")
    server = subprocess.Popen([sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(data_dir),
                               "--port", port], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    kubeconfig = data_dir / "management.kubeconfig"
    for line in server.stdout:
        print(line, end="", flush=True)
        if line.startswith("ready: export KUBECONFIG="):
            break
    else:
        return server.wait() or 1
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def kubectl(*args: str, quiet: bool = False) -> str:
        if not quiet:
            print("$ kubectl " + " ".join(args), flush=True)
        result = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, check=False)
        if not quiet:
            print(result.stdout + result.stderr, end="", flush=True)
        return result.stdout

    kubectl("apply", "-f", str(HERE / "ha-cluster.yaml"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        phases = kubectl("get", "machines", "-l", f"cluster.x-k8s.io/cluster-name={CLUSTER}", "-o",
                         "jsonpath={.items[*].status.phase}", quiet=True).split()
        if phases.count("Running") >= MACHINES:
            break
        time.sleep(0.5)
    kubectl("wait", "--for=condition=Available", "--timeout=60s", "kubeadmcontrolplane/ha-control-plane",
            "machinedeployment/ha-md-0", quiet=True)
    kubectl("get", "cluster,kubeadmcontrolplanes,machinedeployments,machines")
    workload = data_dir / f"{CLUSTER}.kubeconfig"
    encoded = kubectl("get", "secret", f"{CLUSTER}-kubeconfig", "-o", "jsonpath={.data.value}", quiet=True)
    if encoded:
        fd = os.open(workload, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64decode(encoded))
        subprocess.run(["kubectl", "--kubeconfig", str(workload), "get", "nodes"], check=False)
    print(f"$ herd describe cluster {CLUSTER}", flush=True)
    subprocess.run([sys.executable, "-m", "herd.cli.main", "describe", "cluster", CLUSTER], env=env, check=False)
    print(f"\nThe management plane keeps running. In another shell:\n"
          f"  export KUBECONFIG={kubeconfig}\n"
          f"  kubectl get clusters,machines -A\n"
          f"  kubectl scale kubeadmcontrolplane ha-control-plane --replicas=5\n"
          f"  kubectl scale machinedeployment ha-md-0 --replicas=5\n"
          f"  kubectl --kubeconfig {workload} get nodes      # the workload cluster\n"
          "Press Ctrl-C to stop.", flush=True)
    try:
        for line in server.stdout:
            print(line, end="", flush=True)
    except KeyboardInterrupt:
        pass
    server.send_signal(signal.SIGTERM)
    return 0 if server.wait(timeout=20) in (0, -signal.SIGTERM) else 1


if __name__ == "__main__":
    sys.exit(main())

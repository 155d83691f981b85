"""`make run`: start the embedded management plane (`herd up`), show what it serves, keep it running.

Stops with Ctrl-C. State lives in ~/.herd (or $HERD_DATA_DIR), so a second run resumes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    data_dir = Path(os.environ.get("HERD_DATA_DIR", Path.home() / ".herd"))
    port = os.environ.get("HERD_PORT", "6443")
    server = subprocess.Popen([sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(data_dir),
                               "--port", port], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    kubeconfig = data_dir / "management.kubeconfig"
    for line in server.stdout:
        print(line, end="", flush=True)
        if line.startswith("export KUBECONFIG="):
            break
    else:
        return server.wait() or 1
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def kubectl(*args: str) -> None:
        print("$ kubectl " + " ".join(args), flush=True)
        subprocess.run(["kubectl", *args], env=env, check=False)

    kubectl("api-resources", "--categories=cluster-api")
    kubectl("apply", "-f", str(HERE / "widgets-crd.yaml"))
    kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s")
    kubectl("apply", "-f", str(HERE / "widget.yaml"))
    kubectl("get", "widgets", "-A")
    print(f"\nThe management plane keeps running. In another shell:\n  export KUBECONFIG={kubeconfig}\n"
          "  kubectl get widgets -A -w\nPress Ctrl-C to stop.", flush=True)
    try:
        for line in server.stdout:
            print(line, end="", flush=True)
    except KeyboardInterrupt:
        pass
    server.send_signal(signal.SIGTERM)
    return 0 if server.wait(timeout=20) in (0, -signal.SIGTERM) else 1


if __name__ == "__main__":
    sys.exit(main())

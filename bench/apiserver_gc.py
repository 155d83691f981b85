"""CPU the API server spends in Python's garbage collector per create: CPython's default thresholds against herd's.

    .venv/bin/python bench/apiserver_gc.py [--rounds 3] [--seconds 5]

Each round starts `herd serve` twice: once as herd runs it (its thresholds, its state frozen after start), once
as CPython would (thresholds 700, 10, 10, nothing frozen); each drives creates of ~1 KiB custom resources with
`wrk` (as bench/apiserver.py does). The server process times every collection (`gc.callbacks`, thread CPU time)
and reports the total when asked; the figures are that total and the server's whole CPU, each per create, with
the median and range over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import orjson
from apiserver import CRD, GROUP, PATH, WRK_CREATE, _lua_string, cpu_seconds, gadget, run_wrk

# Runs in the server process: times collections, writes their total to $GC_REPORT on SIGUSR1.
_BOOTSTRAP = r"""
import gc, json, os, signal, sys, time
import herd.cli.serve as serve
if os.environ["GC_VARIANT"] == "cpython":
    serve.GC_THRESHOLDS = (700, 10, 10)
    serve.freeze_loaded_state = lambda: None
spent = {"ns": 0, "collections": 0, "started": 0}
def timed(phase, info):
    if phase == "start":
        spent["started"] = time.thread_time_ns()
    else:
        spent["ns"] += time.thread_time_ns() - spent["started"]
        spent["collections"] += 1
gc.callbacks.append(timed)
def report(*_):
    with open(os.environ["GC_REPORT"], "w") as out:
        json.dump({"ns": spent["ns"], "collections": spent["collections"]}, out)
signal.signal(signal.SIGUSR1, report)
sys.exit(serve.main(sys.argv[1:]))
"""


def gc_report(server: subprocess.Popen[str], path: Path) -> dict[str, int]:
    path.unlink(missing_ok=True)
    server.send_signal(signal.SIGUSR1)
    for _ in range(100):
        if path.exists() and path.stat().st_size:
            return dict(json.loads(path.read_text()))
        time.sleep(0.05)
    raise SystemExit("the server did not report its collections")


def one_run(variant: str, seconds: float) -> tuple[float, float, float]:
    """(GC µs per create, server CPU µs per create, creates/s) for one server."""
    data_dir = Path(tempfile.mkdtemp(prefix="herd-bench-gc-"))
    token = secrets.token_hex(16)
    (data_dir / "tokens.csv").write_text(f"{token},bench,bench-uid,\"system:masters\"\n")
    report = data_dir / "gc.json"
    env = dict(os.environ, GC_VARIANT=variant, GC_REPORT=str(report))
    server = subprocess.Popen([sys.executable, "-c", _BOOTSTRAP, "--data-dir", str(data_dir), "--port", "0",
                               "--token-auth-file", str(data_dir / "tokens.csv")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert server.stdout is not None
        port = next(int(m.group(1)) for line in server.stdout if (m := re.search(r"\(port (\d+)\)", line)))
        kubeconfig = str(data_dir / "management.kubeconfig")
        subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "apply", "-f", "-"], check=True,
                       input=orjson.dumps(CRD).decode(), capture_output=True, text=True)
        subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "wait", "--for=condition=Established",
                        f"crd/gadgets.{GROUP}"], check=True, capture_output=True, text=True)
        template = orjson.dumps(gadget("NAME")).decode().replace("%", "%%").replace("NAME", "%s")
        prelude = f"PATH = {_lua_string(PATH)}\nTOKEN = {_lua_string(token)}\nTEMPLATE = {_lua_string(template)}\n"
        before, cpu_before = gc_report(server, report), cpu_seconds(server.pid)
        created = run_wrk(f"https://127.0.0.1:{port}", prelude + WRK_CREATE, seconds, 64)
        after, cpu_after = gc_report(server, report), cpu_seconds(server.pid)
        stored = max(1.0, created["requests"] - created["non2xx"])
        return ((after["ns"] - before["ns"]) / 1000 / stored, (cpu_after - cpu_before) * 1e6 / stored,
                created["rps"])
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    figures: dict[str, list[tuple[float, float, float]]] = {"cpython": [], "herd": []}
    for round_number in range(1, args.rounds + 1):
        for variant in figures:
            gc_us, cpu_us, rate = one_run(variant, args.seconds)
            figures[variant].append((gc_us, cpu_us, rate))
            print(f"round {round_number} {variant:7s}: GC {gc_us:5.1f} µs/create, server CPU {cpu_us:5.0f} µs/create, "
                  f"{rate:.0f} creates/s", flush=True)
    for variant, runs in figures.items():
        for index, label in enumerate(("GC µs/create", "server CPU µs/create", "creates/s")):
            values = [run[index] for run in runs]
            print(f"{variant} {label}: median {statistics.median(values):.1f} "
                  f"range {min(values):.1f}-{max(values):.1f}")


if __name__ == "__main__":
    main()

"""bench/apiserver.py as ratios to same-run anchors, over several interleaved rounds (optionally before/after).

    .venv/bin/python bench/apiserver_ratios.py [--rounds 3] [--seconds 8] [--before /tmp/base]

Each round measures the anchors of bench/anchors.py (SQLite's durable single-row commit rate, a bare aiohttp
TLS server's GET rate), then `herd serve` with bench/apiserver.py — from this tree and, with `--before`, from
another checkout (e.g. `git worktree add /tmp/base <commit>`) right after it — so every ratio compares
figures taken within a minute of each other. Prints each round and the median and range of every ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _figures(output: str) -> dict[str, float]:
    return {match.group(1): float(match.group(2))
            for match in re.finditer(r"^(\w+) ([\d.]+)$", output, flags=re.MULTILINE)}


def _run(tree: Path, script: str, *args: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    result = subprocess.run([sys.executable, str(tree / "bench" / script), *args], cwd=tree, env=env,
                            capture_output=True, text=True, check=True)
    return _figures(result.stdout)


def _ratios(anchor: dict[str, float], server: dict[str, float]) -> dict[str, float]:
    return {
        "creates_vs_sqlite_commits": server["creates_per_second"] / anchor["anchor_sqlite_commits_per_second"],
        "gets_vs_bare_aiohttp": server["gets_per_second"] / anchor["anchor_bare_tls_gets_per_second"],
        "gets_vs_low_level_aiohttp": server["gets_per_second"] / anchor["bound_low_level_tls_gets_per_second"],
    }


def _summary(label: str, values: list[float]) -> str:
    return f"{label} median {statistics.median(values):.2f} range {min(values):.2f}-{max(values):.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--before", type=Path, help="another checkout to measure in the same rounds")
    args = parser.parse_args()
    trees = {"after": HERE.parent} | ({"before": args.before.resolve()} if args.before else {})
    seconds = f"{args.seconds:.0f}"
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for round_number in range(1, args.rounds + 1):
        anchor = _run(HERE.parent, "anchors.py", "--seconds", seconds)
        for name, tree in trees.items():
            server = _run(tree, "apiserver.py", "--seconds", seconds, "--paced-seconds", "5")
            ratios = _ratios(anchor, server)
            results[name].append(ratios | server)
            shown = " ".join(f"{key} {value:.2f}" for key, value in ratios.items())
            print(f"round {round_number} {name}: creates/s {server['creates_per_second']:.0f} "
                  f"gets/s {server['gets_per_second']:.0f} rss {server['server_peak_rss_mib']:.0f} MiB; "
                  f"anchors {anchor['anchor_sqlite_commits_per_second']:.0f} commits/s "
                  f"{anchor['anchor_bare_tls_gets_per_second']:.0f} gets/s; {shown}", flush=True)
    for name, rounds in results.items():
        for key in ("creates_vs_sqlite_commits", "gets_vs_bare_aiohttp", "gets_vs_low_level_aiohttp",
                    "creates_per_second", "gets_per_second", "paced_create_p99_ms", "server_peak_rss_mib"):
            print(_summary(f"{name} {key}", [one[key] for one in rounds]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

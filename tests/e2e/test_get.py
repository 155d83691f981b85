"""`herd get kubeconfig` and `herd get clusters` against `herd up`, as a user runs them: the kubeconfig printed or
written 0600 reaches the workload cluster with kubectl, the cluster listed with its phase and counts, and each
failure one line on stderr with exit code 1.

One `herd up` serves the module, with examples/cluster-with-workers.yaml applied in namespace `default`.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.herd_up import HerdUp, herd_up
from support.waiting import eventually_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster-with-workers.yaml"
CLUSTER, NAMESPACE, WORKERS = "fleet", "default", 3

eventually = functools.partial(eventually_sync, timeout=45.0, poll=0.3)


def herd(plane: HerdUp, *args: str) -> subprocess.CompletedProcess[str]:
    """The `herd` command against `plane`, found through $KUBECONFIG as a user who exported it."""
    return subprocess.run([sys.executable, "-m", "herd.cli.main", *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "KUBECONFIG": str(plane.kubeconfig)})


def fails_with_one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("herd: "), result.stderr
    return result.stderr.removeprefix("herd: ").rstrip("\n")


def ready_nodes(plane: HerdUp, kubeconfig: Path) -> list[str]:
    """The workload cluster's Ready Nodes, as kubectl lists them with `kubeconfig`."""
    listed = plane.kubectl("--kubeconfig", str(kubeconfig), "get", "nodes", "--no-headers", "-o",
                           "custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type=='Ready')].status")
    return [line.split()[0] for line in listed.stdout.splitlines() if line.split()[1:] == ["True"]]


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HerdUp]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), HerdUp) as running:
        running.kubectl("apply", "-f", str(EXAMPLE))
        yield running


@pytest.fixture(scope="module")
def printed(plane: HerdUp, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `herd get kubeconfig fleet` printed, once the cluster's nodes are all Ready, kept in a file."""
    path = tmp_path_factory.mktemp("printed") / "stdout"

    def all_ready() -> None:
        result = herd(plane, "get", "kubeconfig", CLUSTER)
        assert result.returncode == 0, result.stderr
        path.write_text(result.stdout)
        assert len(ready_nodes(plane, path)) == 1 + WORKERS
    eventually(all_ready, "herd get kubeconfig reaching every node Ready")
    return path


def test_the_printed_kubeconfig_lists_the_workload_nodes(plane: HerdUp, printed: Path) -> None:
    # `herd get kubeconfig fleet > FILE`: kubectl reads a --kubeconfig more than once, so `| kubectl --kubeconfig
    # /dev/stdin` gets it empty the second time (kubectl's limit, whatever prints the kubeconfig)
    names = ready_nodes(plane, printed)
    assert sorted(names) == sorted(n for n in names if re.fullmatch(rf"{CLUSTER}-(control-plane-0|md-0-\S+)", n))
    assert sum(name.startswith(f"{CLUSTER}-md-0-") for name in names) == WORKERS
    assert yaml.safe_load(printed.read_text())["kind"] == "Config"


def single_kubectl() -> str | None:
    """A kubectl that reads --kubeconfig once. This machine's /usr/bin/kubectl is a dispatcher that reads the
    kubeconfig to pick a kubectl of the server's minor version and then runs it, which reads the file again: a pipe
    is empty the second time. The versioned binaries beside it read it once, as kubectl itself does."""
    real = Path(shutil.which("kubectl") or "/usr/bin/kubectl").resolve()
    versions = sorted(real.parent.glob("kubectl.1.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    return str(versions[-1]) if versions else None


def test_the_printed_kubeconfig_piped_into_kubectl_lists_the_nodes(plane: HerdUp, printed: Path) -> None:
    kubectl = single_kubectl()
    if kubectl is None:
        pytest.skip("only a kubectl dispatcher that reads the kubeconfig twice is installed")
    piped = subprocess.run(
        f"{sys.executable} -m herd.cli.main get kubeconfig {CLUSTER} | {kubectl} --kubeconfig /dev/stdin get nodes "
        "--no-headers", shell=True, capture_output=True, text=True, timeout=60,
        env={**os.environ, "KUBECONFIG": str(plane.kubeconfig)}, check=False)
    assert piped.returncode == 0, piped.stderr
    assert len(piped.stdout.splitlines()) == 1 + WORKERS, piped.stdout


def test_the_file_form_is_private_and_the_same_kubeconfig(plane: HerdUp, printed: Path, tmp_path: Path) -> None:
    target = tmp_path / "fleet.kubeconfig"
    target.write_text("an older kubeconfig")
    target.chmod(0o644)
    result = herd(plane, "get", "kubeconfig", CLUSTER, "-n", NAMESPACE, "-o", str(target))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == printed.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.kubeconfig"]  # no temporary file left behind


def test_get_clusters_shows_the_phase_and_counts(plane: HerdUp, printed: Path) -> None:
    def listed() -> list[list[str]]:
        rows = [line.split() for line in herd(plane, "get", "clusters").stdout.splitlines()]
        assert rows[0] == ["NAME", "PHASE", "CP", "WORKERS", "AGE"], rows
        assert rows[1][:4] == [CLUSTER, "Provisioned", "1/1", f"{WORKERS}/{WORKERS}"], rows
        return rows
    rows = eventually(listed, "herd get clusters showing every machine available")
    assert len(rows) == 2 and re.fullmatch(r"\d+s|\d+m(\d+s)?", rows[1][4]), rows
    everywhere = herd(plane, "get", "clusters", "-A").stdout.splitlines()
    assert [line.split()[:3] for line in everywhere] == [["NAMESPACE", "NAME", "PHASE"],
                                                         [NAMESPACE, CLUSTER, "Provisioned"]]


def test_a_missing_cluster_is_one_line(plane: HerdUp) -> None:
    message = fails_with_one_line(herd(plane, "get", "kubeconfig", "nope"))
    assert message == f"cluster nope not found in namespace {NAMESPACE}"
    message = fails_with_one_line(herd(plane, "get", "kubeconfig", CLUSTER, "-n", "elsewhere"))
    assert message == f"cluster {CLUSTER} not found in namespace elsewhere"


def test_a_cluster_without_its_kubeconfig_yet_says_when_it_comes(plane: HerdUp) -> None:
    # a paused Cluster whose DevCluster does not exist: nothing provisions it, so its kubeconfig Secret never comes
    infrastructure = {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevCluster", "name": "waiting"}
    cluster = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
               "metadata": {"name": "waiting", "namespace": NAMESPACE},
               "spec": {"paused": True, "infrastructureRef": infrastructure}}
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(cluster))
    message = fails_with_one_line(herd(plane, "get", "kubeconfig", "waiting"))
    assert message == ("cluster waiting in namespace default has no kubeconfig yet (Secret waiting-kubeconfig not "
                       "found); it is written once the control plane is initialized")
    plane.kubectl("delete", "cluster", "waiting", "-n", NAMESPACE, "--wait=false")


def test_an_unreachable_management_plane_is_one_line_naming_it(plane: HerdUp, tmp_path: Path) -> None:
    config = yaml.safe_load(plane.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    wrong = tmp_path / "wrong.kubeconfig"
    wrong.write_text(yaml.safe_dump(config))
    message = fails_with_one_line(herd(plane, "get", "clusters", "--kubeconfig", str(wrong)))
    assert message.startswith(f"cannot reach the management plane at https://127.0.0.1:1 (kubeconfig {wrong}): ")
    assert message.endswith("is `herd up` running? Otherwise pass --kubeconfig")
    assert not any(str(credential)[:24] in message for credential in config["users"][0]["user"].values())
    message = fails_with_one_line(herd(plane, "get", "kubeconfig", CLUSTER, "--kubeconfig", str(tmp_path / "none")))
    assert message.startswith(f"no management kubeconfig at {tmp_path / 'none'}: start the plane with `herd up`")

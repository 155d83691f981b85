"""The real kubectl against `herd serve` as a workload cluster's API: drain (pods by node across namespaces,
cordon, eviction, PodDisruptionBudgets) and bootstrap token authentication.

Each test works with nodes and namespaces of its own on one shared plane.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support.plane import ServedPlane

TOKEN_ID, TOKEN_SECRET = "abcdef", "0123456789abcdef"


def node(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str, namespace: str, node_name: str, app: str = "web") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "nginx"}],
                     "volumes": [{"name": "scratch", "emptyDir": {}}]}}


def apply(plane: ServedPlane, *objects: dict[str, object]) -> None:
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def pod_names(plane: ServedPlane, *args: str) -> set[str]:
    listed = json.loads(plane.kubectl("get", "pods", *args, "-o", "json").stdout)
    return {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in listed["items"]}


def node_status(plane: ServedPlane, name: str) -> str:
    rows = [line.split() for line in plane.kubectl("get", "nodes").stdout.splitlines()]
    assert rows[0][:2] == ["NAME", "STATUS"]
    return next(row[1] for row in rows[1:] if row[0] == name)


def test_pods_are_listed_by_node_across_namespaces_and_start_pending(shared_plane: ServedPlane) -> None:
    shared_plane.kubectl("create", "namespace", "list-a")
    shared_plane.kubectl("create", "namespace", "list-b")
    apply(shared_plane, node("list-n1"), node("list-n2"), pod("p1", "list-a", "list-n1"),
          pod("p2", "list-b", "list-n1"), pod("p3", "list-a", "list-n2"))

    assert pod_names(shared_plane, "-A", "--field-selector", "spec.nodeName=list-n1") == {"list-a/p1", "list-b/p2"}
    raw = json.loads(shared_plane.kubectl("get", "--raw", "/api/v1/pods?fieldSelector=spec.nodeName%3Dlist-n2").stdout)
    assert [p["metadata"]["name"] for p in raw["items"]] == ["p3"]
    phase = shared_plane.kubectl("get", "pod", "p1", "-n", "list-a", "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Pending"


def test_cordon_and_uncordon_show_in_the_node_table(shared_plane: ServedPlane) -> None:
    apply(shared_plane, node("cordon-n1"))
    assert node_status(shared_plane, "cordon-n1") == "Ready"

    assert shared_plane.kubectl("cordon", "cordon-n1").stdout.strip() == "node/cordon-n1 cordoned"
    assert node_status(shared_plane, "cordon-n1") == "Ready,SchedulingDisabled"
    assert shared_plane.kubectl("get", "node", "cordon-n1", "-o", "jsonpath={.spec.unschedulable}").stdout == "true"

    assert shared_plane.kubectl("uncordon", "cordon-n1").stdout.strip() == "node/cordon-n1 uncordoned"
    assert node_status(shared_plane, "cordon-n1") == "Ready"


def test_kubectl_drain_cordons_the_node_and_evicts_its_pods(shared_plane: ServedPlane) -> None:
    shared_plane.kubectl("create", "namespace", "drain")
    apply(shared_plane, node("n1"), node("n2"), pod("p1", "drain", "n1"), pod("p2", "drain", "n1"),
          pod("elsewhere", "drain", "n2"))

    drained = shared_plane.kubectl("drain", "n1", "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                                   "--timeout=30s")

    assert "node/n1 cordoned" in drained.stdout
    assert "pod/p1 evicted" in drained.stdout and "pod/p2 evicted" in drained.stdout
    assert "node/n1 drained" in drained.stdout
    assert pod_names(shared_plane, "-n", "drain") == {"drain/elsewhere"}
    assert node_status(shared_plane, "n1") == "Ready,SchedulingDisabled"
    assert node_status(shared_plane, "n2") == "Ready"


def test_kubectl_drain_respects_a_pod_disruption_budget(shared_plane: ServedPlane) -> None:
    shared_plane.kubectl("create", "namespace", "guarded")
    apply(shared_plane, node("pdb-n1"), pod("db", "guarded", "pdb-n1", app="db"),
          {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db", "namespace": "guarded"},
           "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}})
    shared_plane.kubectl("patch", "pod", "db", "-n", "guarded", "--subresource=status", "--type=merge", "-p",
                         json.dumps({"status": {"phase": "Running",
                                                "conditions": [{"type": "Ready", "status": "True"}]}}))

    refused = shared_plane.kubectl("drain", "pdb-n1", "--force", "--delete-emptydir-data", "--timeout=3s",
                                   check=False)

    assert refused.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in refused.stderr
    assert pod_names(shared_plane, "-n", "guarded") == {"guarded/db"}
    budget = json.loads(shared_plane.kubectl("get", "pdb", "db", "-n", "guarded", "-o", "json").stdout)
    assert budget["status"]["disruptionsAllowed"] == 0 and budget["status"]["currentHealthy"] == 1


def test_kubectl_with_a_bootstrap_token(shared_plane: ServedPlane, tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
              "metadata": {"name": f"bootstrap-token-{TOKEN_ID}", "namespace": "kube-system"},
              "stringData": {"token-id": TOKEN_ID, "token-secret": TOKEN_SECRET,
                             "usage-bootstrap-authentication": "true", "expiration": "2099-01-01T00:00:00Z",
                             "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}}
    apply(shared_plane, secret, node("token-n1"))
    empty = tmp_path / "empty.kubeconfig"  # no admin client certificate: the token is all kubectl presents
    empty.write_text("apiVersion: v1\nkind: Config\n")

    def as_token(token: str) -> tuple[int, str, str]:
        result = shared_plane.kubectl(
            "--server", shared_plane.url, "--certificate-authority", str(shared_plane.data_dir / "pki" / "ca.crt"),
            "--token", token, "get", "node", "token-n1",  # a bootstrap token may get Nodes (kubeadm:get-nodes)
            check=False, env={"KUBECONFIG": str(empty)})
        return result.returncode, result.stdout, result.stderr

    code, out, err = as_token(f"{TOKEN_ID}.{TOKEN_SECRET}")
    assert code == 0, err
    assert "token-n1" in out
    code, _, err = as_token(f"{TOKEN_ID}.ffffffffffffffff")
    assert code != 0 and "Unauthorized" in err

    shared_plane.kubectl("delete", "secret", f"bootstrap-token-{TOKEN_ID}", "-n", "kube-system")
    code, _, err = as_token(f"{TOKEN_ID}.{TOKEN_SECRET}")
    assert code != 0 and "Unauthorized" in err

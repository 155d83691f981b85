"""With real kubectl against `herd up`: `kubectl auth whoami` names the admin, `kubectl auth can-i` answers yes
(and `--list` everything), and after examples/cluster-with-workers.yaml is applied and its MachineDeployment scaled
up, `kubectl describe machineset` lists the MachineSet controller's SuccessfulCreate Event for each new Machine, as
does `kubectl events --for`; `kubectl describe machinedeployment` lists the MachineSet it created and the scale, and
`kubectl get events.v1.events.k8s.io` shows the same Events in the newer group."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.herd_up import HerdUp, herd_up
from support.waiting import eventually_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster-with-workers.yaml"
DEPLOYMENT = "fleet-md-0"

eventually = functools.partial(eventually_sync, timeout=90.0, poll=0.5)


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HerdUp]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), HerdUp) as running:
        yield running


def test_kubectl_auth_whoami_prints_the_admin_user(plane: HerdUp) -> None:
    review = json.loads(plane.kubectl("auth", "whoami", "-o", "json").stdout)
    assert review["kind"] == "SelfSubjectReview"
    assert review["status"]["userInfo"]["username"] == "admin"
    assert "system:masters" in review["status"]["userInfo"]["groups"]
    table = plane.kubectl("auth", "whoami").stdout
    assert [line.split()[:2] for line in table.splitlines()[:2]] == [["ATTRIBUTE", "VALUE"], ["Username", "admin"]]


def test_kubectl_auth_can_i_answers_yes(plane: HerdUp) -> None:
    assert plane.kubectl("auth", "can-i", "create", "machines.cluster.x-k8s.io").stdout.strip() == "yes"
    rules = [line.split() for line in plane.kubectl("auth", "can-i", "--list").stdout.splitlines()]
    assert ["*.*", "[]", "[]", "[*]"] in rules


def test_describe_machineset_shows_successful_create_after_a_scale_up(plane: HerdUp) -> None:
    plane.kubectl("apply", "-f", str(EXAMPLE))
    selector = f"-l=cluster.x-k8s.io/deployment-name={DEPLOYMENT}"

    def machines(count: int) -> list[str]:
        names = [m["metadata"]["name"] for m in plane.items("machines", "default", selector)]
        assert len(names) == count
        return names

    before = set(eventually(lambda: machines(3)))
    plane.kubectl("scale", "machinedeployment", DEPLOYMENT, "-n", "default", "--replicas=4")
    (added,) = set(eventually(lambda: machines(4))) - before
    (machine_set,) = {m["metadata"]["name"] for m in plane.items("machinesets", "default", selector)}

    def described() -> str:
        text = plane.kubectl("describe", "machineset", machine_set, "-n", "default").stdout
        assert f'Created machine "{added}"' in text
        return text

    text = eventually(described)
    events = text[text.index("\nEvents:"):]
    created = [line.split() for line in events.splitlines() if "SuccessfulCreate" in line]
    assert len(created) == 4
    assert all(fields[0] == "Normal" and "machineset-controller" in fields for fields in created)
    listed = plane.kubectl("events", "-n", "default", "--for", f"machineset/{machine_set}").stdout
    assert f'Created machine "{added}"' in listed

    deployment = plane.kubectl("describe", "machinedeployment", DEPLOYMENT, "-n", "default").stdout
    deployment_events = deployment[deployment.index("\nEvents:"):]
    assert f"Created MachineSet default/{machine_set} with 3 replicas" in deployment_events
    assert f"Scaled up MachineSet {machine_set}: 3 -> 4" in deployment_events
    assert "machinedeployment-controller" in deployment_events
    for_deployment = plane.kubectl("events", "-n", "default", "--for", f"machinedeployment/{DEPLOYMENT}").stdout
    assert "SuccessfulScale" in for_deployment and "SuccessfulCreate" in for_deployment
    # the same Events through events.k8s.io/v1, with its field names
    newer = json.loads(plane.kubectl("get", "events.v1.events.k8s.io", "-n", "default", "-o", "json",
                                     f"--field-selector=regarding.name={machine_set}").stdout)["items"]
    assert len(newer) == 4 and all(e["reportingController"] == "machineset-controller" for e in newer)
    # the cost: one Event per Machine created and per Node a Machine got (the four workers and the control plane's),
    # and one per MachineSet change of the deployment; nothing else is recorded along the way
    def told() -> Counter[tuple[str, str]]:
        counted = Counter((e["involvedObject"]["kind"], e["reason"]) for e in plane.items("events", "default"))
        assert counted[("Machine", "SuccessfulSetNodeRef")] == 5
        return counted

    assert eventually(told) == {("MachineSet", "SuccessfulCreate"): 4, ("Machine", "SuccessfulSetNodeRef"): 5,
                                ("MachineDeployment", "SuccessfulCreate"): 1,
                                ("MachineDeployment", "SuccessfulScale"): 1}

"""With real kubectl against `herd up`: `kubectl auth whoami` names the admin, `kubectl auth can-i` answers yes
(and `--list` everything), and after examples/cluster-with-workers.yaml is applied and its MachineDeployment scaled
up, `kubectl describe machineset` lists the MachineSet controller's SuccessfulCreate Event for each new Machine, as
does `kubectl events --for`."""

from __future__ import annotations

import functools
import json
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
    # the cost: one Event write per Machine created, and nothing else recorded along the way
    everything = [(e["involvedObject"]["kind"], e["reason"], e["count"]) for e in plane.items("events", "default")]
    assert everything == [("MachineSet", "SuccessfulCreate", 1)] * 4

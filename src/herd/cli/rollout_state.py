"""The pure parts of `herd rollout`: which object a `TYPE/NAME` names, which MachineSet an undo goes back to, and
how far a rollout has come. No I/O."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from herd.api.cluster import MACHINE_DEPLOYMENT
from herd.api.cluster.labels import MACHINE_DEPLOYMENT_UNIQUE_LABEL, REVISION_ANNOTATION
from herd.api.controlplane import KUBEADM_CONTROL_PLANE
from herd.runtime import Kind, Object, controller_owner
from herd.runtime.labels import Selector

from .progress import State, condition, one_line, plural
from .serve import CLIError

# every spelling kubectl would accept for the two kinds: singular, plural, short name, with or without the group
_SPELLINGS = {MACHINE_DEPLOYMENT: ("machinedeployment", "machinedeployments", "md", "mds"),
              KUBEADM_CONTROL_PLANE: ("kubeadmcontrolplane", "kubeadmcontrolplanes", "kcp")}
TYPES: dict[str, Kind] = {f"{spelling}{suffix}": kind for kind, spellings in _SPELLINGS.items()
                          for spelling in spellings for suffix in ("", f".{kind.group}")}
VALID_TYPES = "machinedeployment (md), kubeadmcontrolplane (kcp)"


@dataclass(frozen=True)
class Target:
    kind: Kind
    name: str

    @property
    def type_name(self) -> str:
        """How kubectl names it in its answers: `machinedeployment.cluster.x-k8s.io/ha-md-0`."""
        return f"{self.kind.kind.lower()}.{self.kind.group}/{self.name}"

    @property
    def short(self) -> str:
        return f"{self.kind.kind.lower()}/{self.name}"


def parse_target(text: str) -> Target:
    """`TYPE/NAME`, TYPE case-insensitive in any of its spellings."""
    type_text, slash, name = text.partition("/")
    if not slash or not type_text or not name or "/" in name:
        raise CLIError(f"{text!r} is not TYPE/NAME; e.g. machinedeployment/my-md-0 or kcp/my-control-plane")
    kind = TYPES.get(type_text.lower())
    if kind is None:
        raise CLIError(f"invalid resource type {type_text!r}; valid types: {VALID_TYPES}")
    return Target(kind, name)


# ----- undo -----

def check_undo(target: Target, to_revision: int) -> None:
    """Refuse what no MachineSet history can answer: a KubeadmControlPlane keeps none, and revisions count from 1."""
    if target.kind != MACHINE_DEPLOYMENT:
        raise CLIError(f"undo is not supported for {target.kind.kind.lower()}: only a machinedeployment keeps "
                       "earlier revisions (its MachineSets); change the spec back instead")
    if to_revision < 0:
        raise CLIError(f"--to-revision must not be negative (got {to_revision})")


def revision(machine_set: Object) -> int | None:
    value = ((machine_set.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def owned_machine_sets(deployment: Object, machine_sets: Iterable[Object]) -> list[Object]:
    """The MachineSets the MachineDeployment controls whose labels its selector matches (an empty selector: none)."""
    uid = deployment["metadata"].get("uid")
    selector = Selector.from_label_selector((deployment.get("spec") or {}).get("selector"))
    if selector.empty:
        return []
    return [ms for ms in machine_sets if (controller_owner(ms) or {}).get("uid") == uid
            and selector.matches((ms.get("metadata") or {}).get("labels"))]


def undo_source(target: Target, machine_sets: Iterable[Object], to_revision: int) -> Object:
    """The MachineSet of `to_revision`, or with 0 the one before the newest revision."""
    by_revision = {number: ms for ms in machine_sets if (number := revision(ms)) is not None}
    if to_revision:
        if to_revision not in by_revision:
            known = ", ".join(str(n) for n in sorted(by_revision)) or "none"
            raise CLIError(f"revision {to_revision} of {target.short} not found (revisions: {known}; a finished "
                           "rollout deletes its old MachineSets, so only one under way has earlier ones)")
        return by_revision[to_revision]
    if len(by_revision) < 2:
        raise CLIError(f"no rollout history found for {target.short}: no revision before the current one is left "
                       "(a finished rollout deletes its old MachineSets); edit spec.template back instead")
    return by_revision[sorted(by_revision)[-2]]


def machine_template(machine_set: Object) -> dict[str, Any]:
    """The MachineSet's Machine template as a MachineDeployment's: without the per-MachineSet hash label."""
    template: dict[str, Any] = copy.deepcopy((machine_set.get("spec") or {}).get("template") or {})
    labels = (template.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(MACHINE_DEPLOYMENT_UNIQUE_LABEL, None)
    return template


# ----- status -----

def _count(status: dict[str, Any], field: str) -> int:
    return int(status.get(field) or 0)


def rollout_progress(target: Target, obj: Object) -> State:
    """Done once the controller has seen the latest spec and every desired replica is up to date and available, no
    old one left; else a line on what the rollout still waits for."""
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]
    waiting = f"Waiting for {target.short} rollout to finish"
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return State(False, f"{waiting}: the controller has not seen generation {meta.get('generation')} yet")
    if spec.get("replicas") is None:
        return State(False, f"{waiting}: spec.replicas is not set")
    desired, replicas = int(spec["replicas"]), _count(status, "replicas")
    up_to_date, available = _count(status, "upToDateReplicas"), _count(status, "availableReplicas")
    paused = " (paused)" if spec.get("paused") else ""
    rolling = condition(obj, "RollingOut")  # the controller's own account, when it gives one, says most
    if rolling is not None and rolling.get("status") == "True":
        return State(False, f"{waiting}: {one_line(str(rolling.get('message') or 'rolling out'))}{paused}")
    if up_to_date < desired:
        return State(False, f"{waiting}: {up_to_date} of {plural(desired, 'replica')} up to date{paused}")
    if replicas > up_to_date:
        return State(False, f"{waiting}: {plural(replicas - up_to_date, 'old replica')} pending deletion{paused}")
    if available < desired:
        return State(False, f"{waiting}: {available} of {desired} up-to-date replicas available{paused}")
    return State(True, f"{target.short} successfully rolled out")

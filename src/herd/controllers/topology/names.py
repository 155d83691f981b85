"""Names of the objects a topology makes (upstream's defaults and `naming.template`s), and the kinds it reads."""

from __future__ import annotations

from herd.contract.templates import MAX_NAME_LENGTH, random_suffix

from .gotemplate import TemplateError, render

INFRASTRUCTURE_CLUSTER_NAMING = "{{ .cluster.name }}-{{ .random }}"
CONTROL_PLANE_NAMING = "{{ .cluster.name }}-{{ .random }}"
MACHINE_DEPLOYMENT_NAMING = "{{ .cluster.name }}-{{ .machineDeployment.topologyName }}-{{ .random }}"


def from_template(template: str, cluster_name: str, *, topology_name: str = "") -> str:
    """A name from a `naming.template` (`.cluster.name`, `.random`, `.machineDeployment.topologyName`);
    longer than 63 characters, it is cut and ends in a fresh random suffix."""
    data = {"cluster": {"name": cluster_name}, "random": random_suffix()}
    if topology_name:
        data["machineDeployment"] = {"topologyName": topology_name}
    try:
        name = render(template, data)
    except TemplateError as exc:
        raise ValueError(f"naming template {template!r}: {exc}") from None
    if len(name) > MAX_NAME_LENGTH:
        name = name[:MAX_NAME_LENGTH - 5] + random_suffix()
    return name


def with_prefix(prefix: str) -> str:
    """`<prefix><5 random characters>`: the names of cloned templates (prefix `<cluster>-` for the control
    plane's machine template, `<cluster>-<topology name>-` for a MachineDeployment's)."""
    return prefix[:MAX_NAME_LENGTH - 5] + random_suffix()


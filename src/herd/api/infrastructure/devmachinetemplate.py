"""DevMachineTemplate: a DevMachine blueprint, used by MachineDeployments, MachineSets and control planes."""

from __future__ import annotations

from pydantic import Field

from herd.api.base import APIModel, k8s
from herd.api.columns import provider_age_column
from herd.api.common import ObjectMeta, kind_field
from herd.api.crdgen import CRDSpec

from .dev_types import (
    GROUP,
    VERSION,
    DevObject,
    Quantity,
)
from .devmachine import DevMachineBackendSpec, DevMachineSpec


class DevMachineTemplateResource(APIModel):
    """What a DevMachine made from the template looks like."""

    metadata: ObjectMeta | None = Field(default=None, json_schema_extra=k8s(minProperties=1),
                                        description="Labels and annotations given to each DevMachine made from "
                                                    "this template.")
    spec: DevMachineSpec = Field(description="The spec given to each DevMachine made from this template.")


class DevMachineTemplateSpec(APIModel):
    """The desired state of a DevMachineTemplate."""

    template: DevMachineTemplateResource = Field(description="The DevMachine this template stamps out.")


class DevMachineTemplateStatus(APIModel):
    """The observed state of a DevMachineTemplate."""

    capacity: dict[str, Quantity] | None = Field(
        default=None, description="The resources (cpu, memory and so on) a machine made from this template offers, so "
                                  "autoscalers can size node groups that have no machines yet.")


def _empty_spec() -> DevMachineTemplateSpec:
    return DevMachineTemplateSpec(template=DevMachineTemplateResource(spec=DevMachineSpec(
        backend=DevMachineBackendSpec())))


class DevMachineTemplate(DevObject):
    """A blueprint for DevMachines."""

    kind: str = kind_field("DevMachineTemplate")
    spec: DevMachineTemplateSpec = Field(default_factory=_empty_spec, description="The DevMachine this template "
                                         "describes.")
    status: DevMachineTemplateStatus = Field(default_factory=DevMachineTemplateStatus,
                                             description="The observed state of the template.")


DEV_MACHINE_TEMPLATE_CRD = CRDSpec(
    model=DevMachineTemplate, group=GROUP, version=VERSION, kind="DevMachineTemplate", plural="devmachinetemplates",
    singular="devmachinetemplate",
    description="A blueprint for DevMachines, referenced from MachineDeployments, MachineSets, control planes and "
                "ClusterClasses.",
    printer_columns=(provider_age_column("DevMachineTemplate"),),
)

"""KubeadmConfigTemplate: the KubeadmConfig that MachineDeployments, MachineSets and MachinePools copy
for each Machine they create."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from herd.api.base import APIModel, k8s
from herd.api.common import ObjectMeta
from herd.api.crdgen import CRDSpec

from .envelope import APIObject, api_version_field, kind_field
from .kubeadm_types import KubeadmConfigSpec
from .kubeadmconfig import AGE_COLUMN, API_VERSION, GROUP


class KubeadmConfigTemplateResource(APIModel):
    """The KubeadmConfig to create: its labels, annotations and spec."""

    model_config = ConfigDict(json_schema_extra=k8s(minProperties=1))

    metadata: ObjectMeta | None = Field(default=None, json_schema_extra=k8s(minProperties=1),
                                        description="Labels and annotations given to each KubeadmConfig created "
                                                    "from the template.")
    spec: KubeadmConfigSpec | None = Field(default=None, description="The spec of each KubeadmConfig created from "
                                           "the template.")


class KubeadmConfigTemplateSpec(APIModel):
    """The template of a KubeadmConfigTemplate."""

    template: KubeadmConfigTemplateResource = Field(description="The KubeadmConfig to create for each Machine.")


class KubeadmConfigTemplate(APIObject):
    """A reusable KubeadmConfig: controllers that create Machines in bulk copy it into one KubeadmConfig per
    Machine."""

    api_version: str = api_version_field(API_VERSION)
    kind: str = kind_field("KubeadmConfigTemplate")
    spec: KubeadmConfigTemplateSpec | None = Field(default=None, description="The KubeadmConfig to create for each "
                                                   "Machine.")


OWNER_COLUMNS = (
    {"name": "ClusterClass", "type": "string", "description": "The ClusterClass that owns this template.",
     "jsonPath": '.metadata.ownerReferences[?(@.kind=="ClusterClass")].name'},
    {"name": "Cluster", "type": "string", "description": "The Cluster that owns this template.",
     "jsonPath": '.metadata.ownerReferences[?(@.kind=="Cluster")].name'},
)

KUBEADM_CONFIG_TEMPLATE_CRD = CRDSpec(
    model=KubeadmConfigTemplate, group=GROUP, kind="KubeadmConfigTemplate", plural="kubeadmconfigtemplates",
    singular="kubeadmconfigtemplate", status_subresource=False, printer_columns=(*OWNER_COLUMNS, AGE_COLUMN),
)

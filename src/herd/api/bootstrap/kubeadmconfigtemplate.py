"""KubeadmConfigTemplate: the KubeadmConfig that MachineDeployments, MachineSets and MachinePools copy
for each Machine they create."""

from __future__ import annotations

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.columns import owner_column, provider_age_column
from herd.api.common import APIObject, ObjectMeta, api_version_field, kind_field
from herd.api.crdgen import CRDSpec

from .kubeadm_types import KubeadmConfigSpec
from .kubeadmconfig import API_VERSION, GROUP


class KubeadmConfigTemplateResource(APIModel):
    """The KubeadmConfig to create: its labels, annotations and spec."""

    model_config = NOT_EMPTY

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


KUBEADM_CONFIG_TEMPLATE_CRD = CRDSpec(
    model=KubeadmConfigTemplate, group=GROUP, kind="KubeadmConfigTemplate", plural="kubeadmconfigtemplates",
    singular="kubeadmconfigtemplate", status_subresource=False,
    printer_columns=(owner_column("ClusterClass"), owner_column("Cluster"), provider_age_column()),
)

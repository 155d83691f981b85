"""KubeadmControlPlaneTemplate: the KubeadmControlPlane a ClusterClass creates for each Cluster that
uses it."""

from __future__ import annotations

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.bootstrap.kubeadm_types import KubeadmConfigSpec
from herd.api.columns import owner_column, provider_age_column
from herd.api.common import APIObject, ObjectMeta, api_version_field, kind_field
from herd.api.crdgen import CRDSpec

from .kubeadmcontrolplane import API_VERSION, GROUP
from .kubeadmcontrolplane_types import (
    KubeadmControlPlaneRemediationSpec,
    KubeadmControlPlaneRolloutSpec,
    KubeadmControlPlaneTemplateMachineTemplate,
    MachineNamingSpec,
    spec_field,
)


class KubeadmControlPlaneTemplateResourceSpec(APIModel):
    """The KubeadmControlPlane spec fields a template can set; replicas, version and the infrastructure come
    from the Cluster's topology."""

    model_config = NOT_EMPTY

    machine_template: KubeadmControlPlaneTemplateMachineTemplate | None = spec_field("machine_template")
    kubeadm_config_spec: KubeadmConfigSpec | None = spec_field("kubeadm_config_spec")
    rollout: KubeadmControlPlaneRolloutSpec | None = spec_field("rollout")
    remediation: KubeadmControlPlaneRemediationSpec | None = spec_field("remediation")
    machine_naming: MachineNamingSpec | None = spec_field("machine_naming")


class KubeadmControlPlaneTemplateResource(APIModel):
    """The KubeadmControlPlane to create: its labels, annotations and spec."""

    model_config = NOT_EMPTY

    metadata: ObjectMeta | None = Field(default=None, json_schema_extra=k8s(minProperties=1),
                                        description="Labels and annotations given to the KubeadmControlPlane "
                                                    "created from the template.")
    spec: KubeadmControlPlaneTemplateResourceSpec | None = Field(default=None, description="The spec of the "
                                                                 "KubeadmControlPlane created from the template.")


class KubeadmControlPlaneTemplateSpec(APIModel):
    """The template of a KubeadmControlPlaneTemplate."""

    template: KubeadmControlPlaneTemplateResource = Field(description="The KubeadmControlPlane to create.")


class KubeadmControlPlaneTemplate(APIObject):
    """A reusable KubeadmControlPlane, referenced by a ClusterClass; each Cluster of the class gets a
    KubeadmControlPlane made from it, with replicas and version taken from the Cluster's topology."""

    api_version: str = api_version_field(API_VERSION)
    kind: str = kind_field("KubeadmControlPlaneTemplate")
    spec: KubeadmControlPlaneTemplateSpec | None = Field(default=None, description="The KubeadmControlPlane to "
                                                         "create.")


KUBEADM_CONTROL_PLANE_TEMPLATE_CRD = CRDSpec(
    model=KubeadmControlPlaneTemplate, group=GROUP, kind="KubeadmControlPlaneTemplate",
    plural="kubeadmcontrolplanetemplates", singular="kubeadmcontrolplanetemplate", status_subresource=False,
    printer_columns=(
        owner_column("ClusterClass"),
        provider_age_column(),
    ),
)

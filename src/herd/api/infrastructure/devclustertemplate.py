"""DevClusterTemplate: a DevCluster blueprint, used by ClusterClass-based clusters."""

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
)
from .devcluster import DevClusterBackendSpec, DevClusterSpec


class DevClusterTemplateResource(APIModel):
    """What a DevCluster made from the template looks like."""

    metadata: ObjectMeta | None = Field(default=None, json_schema_extra=k8s(minProperties=1),
                                        description="Labels and annotations given to each DevCluster made from "
                                                    "this template.")
    spec: DevClusterSpec = Field(description="The spec given to each DevCluster made from this template.")


class DevClusterTemplateSpec(APIModel):
    """The desired state of a DevClusterTemplate."""

    template: DevClusterTemplateResource = Field(description="The DevCluster this template stamps out.")


def _empty_spec() -> DevClusterTemplateSpec:
    return DevClusterTemplateSpec(template=DevClusterTemplateResource(spec=DevClusterSpec(
        backend=DevClusterBackendSpec())))


class DevClusterTemplate(DevObject):
    """A blueprint for DevClusters."""

    kind: str = kind_field("DevClusterTemplate")
    spec: DevClusterTemplateSpec = Field(default_factory=_empty_spec, description="The DevCluster this template "
                                         "describes.")


DEV_CLUSTER_TEMPLATE_CRD = CRDSpec(
    model=DevClusterTemplate, group=GROUP, version=VERSION, kind="DevClusterTemplate", plural="devclustertemplates",
    singular="devclustertemplate", status_subresource=False,
    description="A blueprint for DevClusters, referenced from a ClusterClass.",
    printer_columns=(provider_age_column("DevClusterTemplate"),),
)

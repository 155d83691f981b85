"""CRDs for a provider's kinds, generated from its spec and status models: the kind itself and its template kind
(`<Kind>Template`, which MachineDeployments, control planes and ClusterClasses reference), both labelled with the
contract version (`cluster.x-k8s.io/v1beta2: v1beta2`) so Cluster API finds the version to use."""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from herd.api.base import APIModel, k8s
from herd.api.columns import CLUSTER_NAME_LABEL_COLUMN, provider_age_column, provider_column
from herd.api.common import APIObject, ObjectMeta, api_version_field, kind_field
from herd.api.crdgen import CRDSpec

PROVISIONED_COLUMN = provider_column("Provisioned", "boolean", "Whether the infrastructure is provisioned.",
                                     ".status.initialization.provisioned")
READY_COLUMN = provider_column("Ready", "string", "Whether the infrastructure is Ready.",
                               '.status.conditions[?(@.type=="Ready")].status')
PROVIDER_ID_COLUMN = provider_column("ProviderID", "string", "The machine's identity at the provider.",
                                     ".spec.providerID")


def object_model(kind: str, api_version: str, spec: type[APIModel], status: type[APIModel] | None,
                 description: str) -> type[APIObject]:
    """The top-level model of `kind`: apiVersion, kind, metadata, spec and (unless None) status."""
    fields: dict[str, Any] = {
        "api_version": (str, api_version_field(api_version)),
        "kind": (str, kind_field(kind)),
        "spec": (spec | None, Field(default=None, description=f"The desired state of the {kind}.")),
    }
    if status is not None:
        fields["status"] = (status | None, Field(default=None, description=f"The observed state of the {kind}."))
    model: type[APIObject] = create_model(kind, __base__=APIObject, __doc__=description or f"A {kind}.", **fields)
    return model


def template_model(kind: str, api_version: str, spec: type[APIModel]) -> type[APIObject]:
    """`<kind>Template`: `spec.template.{metadata,spec}` stamped onto each object made from it."""
    resource: type[APIModel] = create_model(
        f"{kind}TemplateResource", __base__=APIModel, __doc__=f"What a {kind} made from the template looks like.",
        metadata=(ObjectMeta | None, Field(default=None, json_schema_extra=k8s(minProperties=1),
                                           description=f"Labels and annotations given to each {kind} made from this "
                                                       "template.")),
        spec=(spec, Field(description=f"The spec given to each {kind} made from this template.")),
    )
    template_spec: type[APIModel] = create_model(
        f"{kind}TemplateSpec", __base__=APIModel, __doc__=f"The desired state of a {kind}Template.",
        template=(resource, Field(description=f"The {kind} this template stamps out.")),
    )
    return object_model(f"{kind}Template", api_version, template_spec, None, f"A blueprint for {kind}s.")


def crd_specs(kind: str, group: str, version: str, spec: type[APIModel], status: type[APIModel], *,
              plural: str, description: str, machine: bool) -> list[CRDSpec]:
    """The CRD specs of `kind` and `<kind>Template`."""
    api_version = f"{group}/{version}"
    columns = (CLUSTER_NAME_LABEL_COLUMN, PROVISIONED_COLUMN, READY_COLUMN,
               *((PROVIDER_ID_COLUMN,) if machine else ()), provider_age_column(kind))
    singular = kind.lower()
    return [
        CRDSpec(model=object_model(kind, api_version, spec, status, description), group=group, version=version,
                kind=kind, plural=plural, singular=singular, description=description or f"A {kind}.",
                printer_columns=columns),
        CRDSpec(model=template_model(kind, api_version, spec), group=group, version=version,
                kind=f"{kind}Template", plural=f"{singular}templates", singular=f"{singular}template",
                status_subresource=False, description=f"A blueprint for {kind}s.",
                printer_columns=(provider_age_column(f"{kind}Template"),)),
    ]

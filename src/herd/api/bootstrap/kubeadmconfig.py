"""KubeadmConfig: the bootstrap configuration of one Machine, turned into a bootstrap data Secret."""

from __future__ import annotations

from pydantic import Field

from herd.api import conditions
from herd.api.base import NOT_EMPTY, APIModel
from herd.api.columns import CLUSTER_NAME_LABEL_COLUMN, PROVIDER_PAUSED_COLUMN, provider_age_column, provider_column
from herd.api.common import (
    APIObject,
    Condition,
    DeprecatedStatus,
    V1Beta1Condition,
    WithConditions,
    api_version_field,
    conditions_field,
    kind_field,
)
from herd.api.crdgen import CRDSpec
from herd.api.fields import observed_generation_field

from .kubeadm_types import KubeadmConfigSpec

GROUP = "bootstrap.cluster.x-k8s.io"
VERSION = "v1beta2"
API_VERSION = f"{GROUP}/{VERSION}"

# Ready: the KubeadmConfig is not being deleted and both DataSecretAvailable and CertificatesAvailable hold.
KUBEADM_CONFIG_READY_CONDITION = conditions.READY_CONDITION
KUBEADM_CONFIG_READY_REASON = conditions.READY_REASON
KUBEADM_CONFIG_NOT_READY_REASON = conditions.NOT_READY_REASON
KUBEADM_CONFIG_READY_UNKNOWN_REASON = conditions.READY_UNKNOWN_REASON

# CertificatesAvailable: the cluster certificates needed to write the bootstrap data exist.
KUBEADM_CONFIG_CERTIFICATES_AVAILABLE_CONDITION = "CertificatesAvailable"
KUBEADM_CONFIG_CERTIFICATES_AVAILABLE_REASON = conditions.AVAILABLE_REASON
KUBEADM_CONFIG_CERTIFICATES_AVAILABLE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# DataSecretAvailable: the bootstrap data Secret has been written.
KUBEADM_CONFIG_DATA_SECRET_AVAILABLE_CONDITION = "DataSecretAvailable"
KUBEADM_CONFIG_DATA_SECRET_AVAILABLE_REASON = conditions.AVAILABLE_REASON
KUBEADM_CONFIG_DATA_SECRET_NOT_AVAILABLE_REASON = conditions.NOT_AVAILABLE_REASON

# Paused: reconciliation of the KubeadmConfig (or of its Cluster) is paused.
KUBEADM_CONFIG_PAUSED_CONDITION = conditions.PAUSED_CONDITION
KUBEADM_CONFIG_PAUSED_REASON = conditions.PAUSED_REASON
KUBEADM_CONFIG_NOT_PAUSED_REASON = conditions.NOT_PAUSED_REASON


class KubeadmConfigInitializationStatus(APIModel):
    """How far the KubeadmConfig got in its first provisioning; part of the bootstrap provider contract."""

    model_config = NOT_EMPTY

    data_secret_created: bool | None = Field(default=None, description="True once the bootstrap data Secret for "
                                             "the Machine has been created; the Machine controller waits for it.")


class KubeadmConfigV1Beta1DeprecatedStatus(APIModel):
    """Status fields in the form the v1beta1 API reported them."""

    conditions: list[V1Beta1Condition] | None = Field(default=None, description="The conditions in the v1beta1 "
                                                      "format; superseded by status.conditions.")
    failure_reason: str | None = Field(default=None, min_length=1, max_length=256, description="A word for a "
                                       "problem that needs a person to fix it; superseded by conditions.")
    failure_message: str | None = Field(default=None, min_length=1, max_length=10240, description="A description "
                                        "of a problem that needs a person to fix it; superseded by conditions.")


class KubeadmConfigStatus(WithConditions, APIModel):
    """What the bootstrap controller observed and produced for a KubeadmConfig."""

    model_config = NOT_EMPTY

    conditions: list[Condition] | None = conditions_field(
        "The current observations of the KubeadmConfig: Ready, DataSecretAvailable, CertificatesAvailable and "
        "Paused.")
    initialization: KubeadmConfigInitializationStatus | None = Field(
        default=None, description="Progress of the first provisioning, as the Cluster API contract defines it.")
    data_secret_name: str | None = Field(default=None, min_length=1, max_length=253, description="The name of the "
                                         "Secret, in the same namespace, that holds the bootstrap data.")
    observed_generation: int | None = observed_generation_field()
    deprecated: DeprecatedStatus[KubeadmConfigV1Beta1DeprecatedStatus] | None = Field(
        default=None, description="Status fields kept for clients of older API versions.")


class KubeadmConfig(APIObject):
    """The kubeadm bootstrap configuration of one Machine. The bootstrap controller renders it, with the
    cluster's certificates and join token, into cloud-init or Ignition data stored in a Secret named in
    status.dataSecretName."""

    api_version: str = api_version_field(API_VERSION)
    kind: str = kind_field("KubeadmConfig")
    spec: KubeadmConfigSpec | None = Field(default=None, description="What the machine's bootstrap data should "
                                           "do.")
    status: KubeadmConfigStatus | None = Field(default=None, description="What the bootstrap controller observed "
                                               "and produced.")


KUBEADM_CONFIG_CRD = CRDSpec(
    model=KubeadmConfig, group=GROUP, kind="KubeadmConfig", plural="kubeadmconfigs", singular="kubeadmconfig",
    printer_columns=(
        CLUSTER_NAME_LABEL_COLUMN,
        PROVIDER_PAUSED_COLUMN,
        provider_column("Data secret created", "string", "Whether the bootstrap data Secret exists.",
                        ".status.initialization.dataSecretCreated"),
        provider_age_column(),
    ),
)

"""DevCluster: the Dev provider's cluster infrastructure (a load balancer or a simulated endpoint)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.columns import CLUSTER_NAME_LABEL_COLUMN, provider_age_column
from herd.api.common import Condition, conditions_field, kind_field
from herd.api.conditions import (
    AVAILABLE_REASON,
    DELETING_REASON,
    NOT_AVAILABLE_REASON,
    NOT_READY_REASON,
    READY_CONDITION,
    READY_REASON,
    READY_UNKNOWN_REASON,
)
from herd.api.crdgen import CRDSpec

from .dev_types import (
    GROUP,
    VERSION,
    APIEndpoint,
    DeprecatedStatus,
    DevObject,
    FailureDomain,
    failure_domains_field,
)

# Removed by the DevCluster controller once the cluster's infrastructure is gone.
CLUSTER_FINALIZER = "dockercluster.infrastructure.cluster.x-k8s.io"
# Names the listener (simulated API server endpoint) an in-memory cluster is bound to.
LISTENER_ANNOTATION = "inmemorycluster.infrastructure.cluster.x-k8s.io/listener"

# Ready: the cluster infrastructure is usable, whatever the backend.
DEV_CLUSTER_READY_CONDITION = READY_CONDITION
DEV_CLUSTER_READY_REASON = READY_REASON
DEV_CLUSTER_NOT_READY_REASON = NOT_READY_REASON
DEV_CLUSTER_READY_UNKNOWN_REASON = READY_UNKNOWN_REASON

# LoadBalancerAvailable (docker backend): the load balancer container in front of the control plane runs.
DEV_CLUSTER_DOCKER_LOAD_BALANCER_AVAILABLE_CONDITION = "LoadBalancerAvailable"
DEV_CLUSTER_DOCKER_LOAD_BALANCER_AVAILABLE_REASON = AVAILABLE_REASON
DEV_CLUSTER_DOCKER_LOAD_BALANCER_NOT_AVAILABLE_REASON = NOT_AVAILABLE_REASON
DEV_CLUSTER_DOCKER_LOAD_BALANCER_DELETING_REASON = DELETING_REASON

# v1beta1 condition and reason for the same load balancer, reported under status.deprecated.v1beta1.
LOAD_BALANCER_AVAILABLE_V1BETA1_CONDITION = "LoadBalancerAvailable"
LOAD_BALANCER_PROVISIONING_FAILED_V1BETA1_REASON = "LoadBalancerProvisioningFailed"


class LocalObjectReference(APIModel):
    """A reference to an object by name, in the same namespace as the referrer."""

    model_config = ConfigDict(json_schema_extra=k8s(x_kubernetes_map_type="atomic"))

    name: str = Field(default="", description="The name of the referenced object.")


class DockerLoadBalancer(APIModel):
    """The load balancer container the docker backend puts in front of the control plane machines."""

    image_repository: str | None = Field(default=None, description="The registry and path to pull the load "
                                         "balancer (haproxy) image from; the provider's default when unset.")
    image_tag: str | None = Field(default=None, description="The tag of the load balancer image; the provider's "
                                  "default when unset.")
    custom_haproxy_config_template_ref: LocalObjectReference | None = Field(
        default=None, alias="customHAProxyConfigTemplateRef",
        description="A ConfigMap whose `value` key holds a template that replaces the generated haproxy "
                    "configuration. The template is not checked before use.")


class DockerClusterBackendSpec(APIModel):
    """Cluster infrastructure made of docker containers."""

    failure_domains: list[FailureDomain] | None = failure_domains_field(
        "Failure domains to report in status for Cluster API to spread machines over; they mean nothing to "
        "docker and are copied as given.")
    load_balancer: DockerLoadBalancer | None = Field(default=None, description="How the control plane's load "
                                                     "balancer container is run.")


class InMemoryClusterBackendSpec(APIModel):
    """Cluster infrastructure simulated inside herd.

    `failureDomains` is herd's addition to upstream's (empty) inMemory backend, shaped as the docker backend's:
    a simulated cluster can then be spread over failure domains as a real one is."""

    failure_domains: list[FailureDomain] | None = failure_domains_field(
        "Failure domains to report in status for Cluster API to spread machines over; simulated, so they are "
        "copied as given.")


class DevClusterBackendSpec(APIModel):
    """Which backend provides the cluster's infrastructure: set exactly one."""

    docker: DockerClusterBackendSpec | None = Field(default=None, description="Run the cluster's infrastructure as "
                                                    "docker containers.")
    in_memory: InMemoryClusterBackendSpec | None = Field(default=None, description="Simulate the cluster's "
                                                         "infrastructure inside herd, without any processes.")


class DevClusterSpec(APIModel):
    """The desired state of a DevCluster."""

    control_plane_endpoint: APIEndpoint | None = Field(
        default=None, description="Where the workload cluster's API server is reached; filled in by the provider "
                                  "when left empty.")
    backend: DevClusterBackendSpec = Field(description="The backend that provides this cluster's infrastructure.")


class DevClusterInitializationStatus(APIModel):
    """How far the DevCluster's initial provisioning has got."""

    model_config = NOT_EMPTY

    provisioned: bool | None = Field(default=None, description="True once the cluster's infrastructure is fully "
                                     "provisioned; Cluster API waits for it before creating machines.")


class DevClusterStatus(APIModel):
    """The observed state of a DevCluster."""

    conditions: list[Condition] | None = conditions_field(
        "The latest observations of the DevCluster's state; types include Ready, LoadBalancerAvailable and Paused.")
    initialization: DevClusterInitializationStatus | None = Field(
        default=None, description="Progress of initial provisioning, as the Cluster API contract expects it.")
    failure_domains: list[FailureDomain] | None = failure_domains_field(
        "The failure domains machines of this cluster may be placed in.")
    deprecated: DeprecatedStatus | None = Field(default=None, description="Status fields kept for older API "
                                                "versions only.")


def _empty_spec() -> DevClusterSpec:
    return DevClusterSpec(backend=DevClusterBackendSpec())


class DevCluster(DevObject):
    """The infrastructure of one cluster from the Dev provider."""

    kind: str = kind_field("DevCluster")
    spec: DevClusterSpec = Field(default_factory=_empty_spec, description="The desired state of the cluster's "
                                 "infrastructure.")
    status: DevClusterStatus = Field(default_factory=DevClusterStatus, description="The observed state of the "
                                     "cluster's infrastructure.")


DEV_CLUSTER_CRD = CRDSpec(
    model=DevCluster, group=GROUP, version=VERSION, kind="DevCluster", plural="devclusters", singular="devcluster",
    description="The infrastructure of one cluster from herd's Dev provider: a simulated API endpoint (inMemory "
                "backend) or a load balancer container (docker backend).",
    printer_columns=(CLUSTER_NAME_LABEL_COLUMN, provider_age_column("DevCluster")),
)

"""The Dev infrastructure provider's kinds (infrastructure.cluster.x-k8s.io/v1beta2), in upstream's shape.

DevCluster and DevMachine choose a backend: `inMemory` simulates machines inside herd (startup durations and
jitter per component: vm, node, apiServer, etcd), `docker` runs them as containers.
"""

from __future__ import annotations

from herd.api.crdgen import CRDSpec, kind_of

from .dev_types import API_VERSION, GROUP, VERSION
from .devcluster import DEV_CLUSTER_CRD, DevCluster, DevClusterSpec, DevClusterStatus
from .devclustertemplate import DEV_CLUSTER_TEMPLATE_CRD, DevClusterTemplate
from .devmachine import DEV_MACHINE_CRD, DevMachine, DevMachineSpec, DevMachineStatus
from .devmachinetemplate import DEV_MACHINE_TEMPLATE_CRD, DevMachineTemplate

CRDS: list[CRDSpec] = [DEV_CLUSTER_CRD, DEV_CLUSTER_TEMPLATE_CRD, DEV_MACHINE_CRD, DEV_MACHINE_TEMPLATE_CRD]

# The kinds as the runtime addresses them.
DEV_CLUSTER = kind_of(DEV_CLUSTER_CRD)
DEV_CLUSTER_TEMPLATE = kind_of(DEV_CLUSTER_TEMPLATE_CRD)
DEV_MACHINE = kind_of(DEV_MACHINE_CRD)
DEV_MACHINE_TEMPLATE = kind_of(DEV_MACHINE_TEMPLATE_CRD)

__all__ = [
    "API_VERSION", "CRDS", "DEV_CLUSTER", "DEV_CLUSTER_TEMPLATE", "DEV_MACHINE", "DEV_MACHINE_TEMPLATE", "GROUP",
    "VERSION", "DevCluster", "DevClusterSpec", "DevClusterStatus",
    "DevClusterTemplate", "DevMachine", "DevMachineSpec", "DevMachineStatus", "DevMachineTemplate",
]

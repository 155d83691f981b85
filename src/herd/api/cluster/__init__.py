"""The cluster.x-k8s.io/v1beta2 kinds: Cluster, ClusterClass, Machine, MachineSet, MachineDeployment,
MachineHealthCheck.

Each kind's module holds its model, its CRD envelope and its condition types and reasons; `topology` holds the
Cluster's managed topology; `labels` holds the well-known labels, annotations and finalizers; `shared` holds the
types several kinds use. The kinds as the runtime addresses them (`CLUSTER`, `MACHINE`, …) are derived from the
CRD specs. What every group shares lives one level up: the object envelope (`herd.api.common`), condition reasons
(`herd.api.conditions`), printer columns (`herd.api.columns`), field helpers (`herd.api.fields`) and the helpers
for reading objects as dicts (`herd.api.objects`).
"""

from __future__ import annotations

from herd.api.crdgen import CRDSpec, kind_of

from .cluster import CLUSTER_CRD, Cluster, ClusterSpec, ClusterStatus
from .clusterclass import CLUSTER_CLASS_CRD, ClusterClass, ClusterClassSpec, ClusterClassStatus
from .machine import MACHINE_CRD, Machine, MachineStatus
from .machinedeployment import (
    MACHINE_DEPLOYMENT_CRD,
    MachineDeployment,
    MachineDeploymentSpec,
    MachineDeploymentStatus,
)
from .machinehealthcheck import (
    MACHINE_HEALTH_CHECK_CRD,
    MachineHealthCheck,
    MachineHealthCheckSpec,
    MachineHealthCheckStatus,
)
from .machineset import MACHINE_SET_CRD, MachineSet, MachineSetSpec, MachineSetStatus
from .shared import API_VERSION, GROUP, VERSION, Bootstrap, LabelSelector, MachineSpec, MachineTemplateSpec

# The CustomResourceDefinitions of this group, in the order they can be installed.
CRDS: list[CRDSpec] = [CLUSTER_CRD, CLUSTER_CLASS_CRD, MACHINE_CRD, MACHINE_SET_CRD, MACHINE_DEPLOYMENT_CRD,
                       MACHINE_HEALTH_CHECK_CRD]

# The kinds as the runtime addresses them.
CLUSTER = kind_of(CLUSTER_CRD)
CLUSTER_CLASS = kind_of(CLUSTER_CLASS_CRD)
MACHINE = kind_of(MACHINE_CRD)
MACHINE_SET = kind_of(MACHINE_SET_CRD)
MACHINE_DEPLOYMENT = kind_of(MACHINE_DEPLOYMENT_CRD)
MACHINE_HEALTH_CHECK = kind_of(MACHINE_HEALTH_CHECK_CRD)

__all__ = [
    "API_VERSION",
    "CLUSTER",
    "CLUSTER_CLASS",
    "CLUSTER_CLASS_CRD",
    "CLUSTER_CRD",
    "CRDS",
    "GROUP",
    "MACHINE",
    "MACHINE_CRD",
    "MACHINE_DEPLOYMENT",
    "MACHINE_DEPLOYMENT_CRD",
    "MACHINE_HEALTH_CHECK",
    "MACHINE_HEALTH_CHECK_CRD",
    "MACHINE_SET",
    "MACHINE_SET_CRD",
    "VERSION",
    "Bootstrap",
    "Cluster",
    "ClusterClass",
    "ClusterClassSpec",
    "ClusterClassStatus",
    "ClusterSpec",
    "ClusterStatus",
    "LabelSelector",
    "Machine",
    "MachineDeployment",
    "MachineDeploymentSpec",
    "MachineDeploymentStatus",
    "MachineHealthCheck",
    "MachineHealthCheckSpec",
    "MachineHealthCheckStatus",
    "MachineSet",
    "MachineSetSpec",
    "MachineSetStatus",
    "MachineSpec",
    "MachineStatus",
    "MachineTemplateSpec",
]

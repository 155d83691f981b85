"""Well-known labels, annotations, finalizers and taints of Cluster API's core objects.

Names follow upstream's Go constants (e.g. ClusterNameLabel -> CLUSTER_NAME_LABEL); the values are the keys
Cluster API tools and providers look for, so they must stay exactly as they are.
"""

from __future__ import annotations

from typing import Final

# --- labels ---------------------------------------------------------------------------------------------------

# Set on Machines and on the bootstrap and infrastructure objects of a cluster: the Cluster's name.
CLUSTER_NAME_LABEL: Final = "cluster.x-k8s.io/cluster-name"
# Set on Machines (and related objects) that are part of a control plane; the value is empty.
MACHINE_CONTROL_PLANE_LABEL: Final = "cluster.x-k8s.io/control-plane"
# Set on Machines a control plane owns: its name (hashed when longer than 63 characters).
MACHINE_CONTROL_PLANE_NAME_LABEL: Final = "cluster.x-k8s.io/control-plane-name"
# Set on Machines a MachineDeployment owns: its name.
MACHINE_DEPLOYMENT_NAME_LABEL: Final = "cluster.x-k8s.io/deployment-name"
# Set on Machines a MachineSet owns: its name (hashed when longer than 63 characters).
MACHINE_SET_NAME_LABEL: Final = "cluster.x-k8s.io/set-name"
# Set on Machines a MachinePool owns: its name (hashed when longer than 63 characters).
MACHINE_POOL_NAME_LABEL: Final = "cluster.x-k8s.io/pool-name"
# Set by the MachineDeployment controller on its MachineSets and their Machines and used in the MachineSet
# selector: a hash of the rollout-relevant part of the template plus a random suffix; never changes for a set.
MACHINE_DEPLOYMENT_UNIQUE_LABEL: Final = "machine-template-hash"
# On a Pod in a workload cluster, the value "skip" keeps the Pod from being evicted when its Node is drained.
POD_DRAIN_LABEL: Final = "cluster.x-k8s.io/drain"
POD_DRAIN_LABEL_SKIP: Final = "skip"
# Marks Nodes that run on interruptible (spot) instances.
INTERRUPTIBLE_LABEL: Final = "cluster.x-k8s.io/interruptible"
# Set on the components of a provider's manifest: the provider's name (clusterctl uses it).
PROVIDER_NAME_LABEL: Final = "cluster.x-k8s.io/provider"
# Controllers started with a watch filter only reconcile objects whose label has the configured value.
WATCH_LABEL: Final = "cluster.x-k8s.io/watch-filter"
# Set on every object the topology controller manages.
CLUSTER_TOPOLOGY_OWNED_LABEL: Final = "topology.cluster.x-k8s.io/owned"
# Set on generated MachineDeployments / MachinePools: the name of the topology entry they come from.
CLUSTER_TOPOLOGY_MACHINE_DEPLOYMENT_NAME_LABEL: Final = "topology.cluster.x-k8s.io/deployment-name"
CLUSTER_TOPOLOGY_MACHINE_POOL_NAME_LABEL: Final = "topology.cluster.x-k8s.io/pool-name"
# Prefixes and domains of Node labels Cluster API keeps in sync from Machines.
NODE_ROLE_LABEL_PREFIX: Final = "node-role.kubernetes.io"
NODE_RESTRICTION_LABEL_DOMAIN: Final = "node-restriction.kubernetes.io"
MANAGED_NODE_LABEL_DOMAIN: Final = "node.cluster.x-k8s.io"
MANAGED_NODE_ANNOTATION_DOMAIN: Final = "node.cluster.x-k8s.io"

# --- annotations ----------------------------------------------------------------------------------------------

# On any Cluster API object: controllers leave the object alone while it is present.
PAUSED_ANNOTATION: Final = "cluster.x-k8s.io/paused"
# On a Machine: delete it first when its MachineSet or control plane scales down.
DELETE_MACHINE_ANNOTATION: Final = "cluster.x-k8s.io/delete-machine"
# On a Machine: a MachineHealthCheck treats it as unhealthy, and remediation picks it first.
REMEDIATE_MACHINE_ANNOTATION: Final = "cluster.x-k8s.io/remediate-machine"
# On a Machine: MachineHealthChecks do not remediate it.
MACHINE_SKIP_REMEDIATION_ANNOTATION: Final = "cluster.x-k8s.io/skip-remediation"
# On objects cloned from a template: the template's name and group-kind (e.g. DevMachineTemplate.infrastructure...).
TEMPLATE_CLONED_FROM_NAME_ANNOTATION: Final = "cluster.x-k8s.io/cloned-from-name"
TEMPLATE_CLONED_FROM_GROUP_KIND_ANNOTATION: Final = "cluster.x-k8s.io/cloned-from-groupkind"
# On a MachineSet: stop creating Machines (used by the OnDelete rollout strategy for old MachineSets).
DISABLE_MACHINE_CREATE_ANNOTATION: Final = "cluster.x-k8s.io/disable-machine-create"
# On a MachineSet or MachineDeployment: comma-separated preflight checks to skip (All, KubeadmVersionSkew,
# KubernetesVersionSkew, ControlPlaneIsStable, ControlPlaneVersionSkew).
MACHINE_SET_SKIP_PREFLIGHT_CHECKS_ANNOTATION: Final = "machineset.cluster.x-k8s.io/skip-preflight-checks"
# On an infrastructure cluster: an external system manages it; the provider's controller ignores it.
MANAGED_BY_ANNOTATION: Final = "cluster.x-k8s.io/managed-by"
# On a MachinePool: something other than Cluster API manages its replica count.
REPLICAS_MANAGED_BY_ANNOTATION: Final = "cluster.x-k8s.io/replicas-managed-by"
# On a MachineDeployment or MachineSet: the cluster autoscaler's node group size bounds.
AUTOSCALER_MIN_SIZE_ANNOTATION: Final = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
AUTOSCALER_MAX_SIZE_ANNOTATION: Final = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"

# On workload cluster Nodes, set by the Machine controller.
CLUSTER_NAME_ANNOTATION: Final = "cluster.x-k8s.io/cluster-name"
CLUSTER_NAMESPACE_ANNOTATION: Final = "cluster.x-k8s.io/cluster-namespace"
MACHINE_ANNOTATION: Final = "cluster.x-k8s.io/machine"
OWNER_KIND_ANNOTATION: Final = "cluster.x-k8s.io/owner-kind"
OWNER_NAME_ANNOTATION: Final = "cluster.x-k8s.io/owner-name"
LABELS_FROM_MACHINE_ANNOTATION: Final = "cluster.x-k8s.io/labels-from-machine"
ANNOTATIONS_FROM_MACHINE_ANNOTATION: Final = "cluster.x-k8s.io/annotations-from-machine"
TAINTS_FROM_MACHINE_ANNOTATION: Final = "cluster.x-k8s.io/taints-from-machine"

# On a Machine: skip draining its Node / waiting for its volumes to detach when it is deleted.
EXCLUDE_NODE_DRAINING_ANNOTATION: Final = "machine.cluster.x-k8s.io/exclude-node-draining"
EXCLUDE_WAIT_FOR_NODE_VOLUME_DETACH_ANNOTATION: Final = "machine.cluster.x-k8s.io/exclude-wait-for-node-volume-detach"
# Prefixes of Machine annotations that hold deletion back: any annotation starting with
# "pre-drain.delete.hook.machine.cluster.x-k8s.io" blocks draining; any starting with
# "pre-terminate.delete.hook.machine.cluster.x-k8s.io" blocks deleting the infrastructure.
PRE_DRAIN_DELETE_HOOK_ANNOTATION_PREFIX: Final = "pre-drain.delete.hook.machine.cluster.x-k8s.io"
PRE_TERMINATE_DELETE_HOOK_ANNOTATION_PREFIX: Final = "pre-terminate.delete.hook.machine.cluster.x-k8s.io"
# On a bootstrap config or Machine (control plane only): when the machine's certificates expire, RFC 3339;
# the Machine's value wins.
MACHINE_CERTIFICATES_EXPIRY_DATE_ANNOTATION: Final = "machine.cluster.x-k8s.io/certificates-expiry"

# On MachineSets, set by their MachineDeployment.
REVISION_ANNOTATION: Final = "machinedeployment.clusters.x-k8s.io/revision"
REVISION_HISTORY_ANNOTATION: Final = "machinedeployment.clusters.x-k8s.io/revision-history"
DESIRED_REPLICAS_ANNOTATION: Final = "machinedeployment.clusters.x-k8s.io/desired-replicas"
MAX_REPLICAS_ANNOTATION: Final = "machinedeployment.clusters.x-k8s.io/max-replicas"

# Internal bookkeeping of in-place updates.
PENDING_ACKNOWLEDGE_MOVE_ANNOTATION: Final = "in-place-updates.internal.cluster.x-k8s.io/pending-acknowledge-move"
UPDATE_IN_PROGRESS_ANNOTATION: Final = "in-place-updates.internal.cluster.x-k8s.io/update-in-progress"
MOVE_MACHINES_TO_MACHINE_SET_ANNOTATION: Final = (
    "in-place-updates.internal.cluster.x-k8s.io/move-machines-to-machineset")
RECEIVE_MACHINES_FROM_MACHINE_SETS_ANNOTATION: Final = (
    "in-place-updates.internal.cluster.x-k8s.io/receive-machines-from-machinesets")
ACKNOWLEDGED_MOVE_ANNOTATION: Final = "in-place-updates.internal.cluster.x-k8s.io/acknowledged-move"

# Managed topologies.
CLUSTER_TOPOLOGY_UPGRADE_STEP_ANNOTATION: Final = "topology.internal.cluster.x-k8s.io/upgrade-step"
CLUSTER_TOPOLOGY_HOLD_UPGRADE_SEQUENCE_ANNOTATION: Final = "topology.cluster.x-k8s.io/hold-upgrade-sequence"
CLUSTER_TOPOLOGY_DEFER_UPGRADE_ANNOTATION: Final = "topology.cluster.x-k8s.io/defer-upgrade"
CLUSTER_TOPOLOGY_UPGRADE_CONCURRENCY_ANNOTATION: Final = "topology.cluster.x-k8s.io/upgrade-concurrency"
CLUSTER_TOPOLOGY_UNSAFE_UPDATE_CLASS_NAME_ANNOTATION: Final = (
    "unsafe.topology.cluster.x-k8s.io/disable-update-class-name-check")
CLUSTER_TOPOLOGY_UNSAFE_UPDATE_VERSION_ANNOTATION: Final = (
    "unsafe.topology.cluster.x-k8s.io/disable-update-version-check")
TOPOLOGY_DRY_RUN_ANNOTATION: Final = "topology.cluster.x-k8s.io/dry-run"
# Prefix of Cluster annotations that hold a topology upgrade back (before-upgrade lifecycle hook).
BEFORE_CLUSTER_UPGRADE_HOOK_ANNOTATION_PREFIX: Final = "before-upgrade.hook.cluster.cluster.x-k8s.io"

# clusterctl.
BLOCK_MOVE_ANNOTATION: Final = "clusterctl.cluster.x-k8s.io/block-move"
DELETE_FOR_MOVE_ANNOTATION: Final = "clusterctl.cluster.x-k8s.io/delete-for-move"
SKIP_CRD_NAME_PREFLIGHT_CHECK_ANNOTATION: Final = "clusterctl.cluster.x-k8s.io/skip-crd-name-preflight-check"
CRD_MIGRATION_OBSERVED_GENERATION_ANNOTATION: Final = "crd-migration.cluster.x-k8s.io/observed-generation"

# --- finalizers -----------------------------------------------------------------------------------------------

CLUSTER_FINALIZER: Final = "cluster.cluster.x-k8s.io"
MACHINE_FINALIZER: Final = "machine.cluster.x-k8s.io"
MACHINE_SET_FINALIZER: Final = "cluster.x-k8s.io/machineset"
MACHINE_DEPLOYMENT_FINALIZER: Final = "cluster.x-k8s.io/machinedeployment"
MACHINE_SET_TOPOLOGY_FINALIZER: Final = "machineset.topology.cluster.x-k8s.io"
MACHINE_DEPLOYMENT_TOPOLOGY_FINALIZER: Final = "machinedeployment.topology.cluster.x-k8s.io"

# --- other well-known values ----------------------------------------------------------------------------------

# The type of the Secrets Cluster API components create themselves (as opposed to user-supplied ones).
CLUSTER_SECRET_TYPE: Final = "cluster.x-k8s.io/secret"
# Taint put on Nodes of an outdated revision during a rollout, so pods avoid them.
NODE_OUTDATED_REVISION_TAINT_KEY: Final = "node.cluster.x-k8s.io/outdated-revision"
NODE_OUTDATED_REVISION_TAINT_EFFECT: Final = "PreferNoSchedule"
# Taint a bootstrap provider puts on new Nodes until Cluster API has synced the Machine's labels to them.
NODE_UNINITIALIZED_TAINT_KEY: Final = "node.cluster.x-k8s.io/uninitialized"
NODE_UNINITIALIZED_TAINT_EFFECT: Final = "NoSchedule"
# The kind suffix of template kinds (DevMachine -> DevMachineTemplate).
TEMPLATE_SUFFIX: Final = "Template"

"""Printer columns (`additionalPrinterColumns`) of every group's CRDs: what `kubectl get` shows.

The core kinds list a column's JSON path before its description; the provider kinds (bootstrap, control plane,
infrastructure) were written the other way round. Kubernetes ignores the key order, but `herd crds` prints it, so
each style keeps its own to leave the printed CRDs unchanged.
"""

from __future__ import annotations

from typing import Any

Column = dict[str, Any]


def column(name: str, type_: str, json_path: str, description: str, priority: int = 0) -> Column:
    """One printer column; priority 0 shows in `kubectl get`, higher ones only with `-o wide`."""
    col: Column = {"name": name, "type": type_, "jsonPath": json_path, "description": description}
    if priority:
        col["priority"] = priority
    return col


def condition_column(name: str, condition: str, description: str, priority: int = 0) -> Column:
    """A printer column showing the status of one condition."""
    return column(name, "string", f'.status.conditions[?(@.type=="{condition}")].status', description, priority)


def age_column(kind: str) -> Column:
    """The Age printer column of a core kind."""
    return column("Age", "date", ".metadata.creationTimestamp", f"How long ago the {kind} was created.")


# The Machine counts of a MachineSet or MachineDeployment.
MACHINE_COUNT_COLUMNS = (
    column("Desired", "integer", ".spec.replicas", "How many Machines are wanted."),
    column("Current", "integer", ".status.replicas", "How many Machines exist."),
    column("Ready", "integer", ".status.readyReplicas", "How many Machines are Ready."),
    column("Available", "integer", ".status.availableReplicas", "How many Machines are Available."),
    column("Up-to-date", "integer", ".status.upToDateReplicas", "How many Machines are UpToDate."),
)
CLUSTER_NAME_COLUMN = column("Cluster", "string", ".spec.clusterName", "The Cluster the object belongs to.")
PAUSED_COLUMN = condition_column("Paused", "Paused", "Whether reconciliation is paused.", priority=10)


# --- the provider kinds' columns (description before the JSON path) ------------------------------------------


def provider_column(name: str, type_: str, description: str, json_path: str) -> Column:
    """One printer column of a provider kind."""
    return {"name": name, "type": type_, "description": description, "jsonPath": json_path}


def provider_age_column(kind: str = "object") -> Column:
    """The Age printer column of a provider kind."""
    return provider_column("Age", "date", f"How long ago the {kind} was created.", ".metadata.creationTimestamp")


def owner_column(kind: str) -> Column:
    """The name of the template's owner of this kind (ClusterClass or Cluster)."""
    return provider_column(kind, "string", f"The {kind} that owns this template.",
                           f'.metadata.ownerReferences[?(@.kind=="{kind}")].name')


# Provider objects name their Cluster in the cluster-name label rather than in spec.clusterName.
CLUSTER_NAME_LABEL_COLUMN = provider_column("Cluster", "string", "The Cluster this object belongs to.",
                                            r".metadata.labels['cluster\.x-k8s\.io/cluster-name']")
PROVIDER_PAUSED_COLUMN: Column = {
    "name": "Paused", "type": "string", "priority": 10, "description": "Whether reconciliation is paused.",
    "jsonPath": '.status.conditions[?(@.type=="Paused")].status'}

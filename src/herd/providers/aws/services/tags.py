"""The tags CAPA puts on every AWS resource, and the EC2 filters that find a cluster's resources by them.

A resource is found by its tags before anything is created, so a reconcile that crashed between an AWS call and
the status write finds what it made instead of making it twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROVIDER_PREFIX = "sigs.k8s.io/cluster-api-provider-aws/"
ROLE_TAG = PROVIDER_PREFIX + "role"
NAME_TAG = "Name"
OWNED = "owned"
SHARED = "shared"

# Roles (CAPA's values) of resources that are not security groups.
ROLE_COMMON = "common"
ROLE_PUBLIC = "public"
ROLE_PRIVATE = "private"
ROLE_APISERVER = "apiserver"
ROLE_NODE = "node"
ROLE_CONTROL_PLANE = "control-plane"


def cluster_tag_key(cluster: str) -> str:
    """The tag whose value `owned` marks a resource as made (and to be deleted) by the provider for `cluster`."""
    return f"{PROVIDER_PREFIX}cluster/{cluster}"


def cloud_provider_tag_key(cluster: str) -> str:
    """The tag the Kubernetes AWS cloud provider reads to tell which cluster a resource serves."""
    return f"kubernetes.io/cluster/{cluster}"


def build(cluster: str, role: str, name: str | None = None, additional: Mapping[str, str] | None = None,
          ) -> dict[str, str]:
    """The tags of a resource the provider owns: the user's additional tags, then the ownership, role and Name."""
    tags = dict(additional or {})
    tags[cluster_tag_key(cluster)] = OWNED
    tags[ROLE_TAG] = role
    if name:
        tags[NAME_TAG] = name
    return tags


def is_owned(tags: Mapping[str, str] | None, cluster: str) -> bool:
    """Whether the provider made this resource for `cluster` (and may change or delete it)."""
    return (tags or {}).get(cluster_tag_key(cluster)) == OWNED


def as_dict(aws_tags: list[dict[str, str]] | None) -> dict[str, str]:
    """AWS's `[{"Key": k, "Value": v}]` as a plain mapping."""
    return {tag["Key"]: tag.get("Value", "") for tag in aws_tags or []}


def as_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """A plain mapping as AWS's `[{"Key": k, "Value": v}]`, sorted so requests are reproducible."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def specification(resource_type: str, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """EC2's TagSpecifications for a resource created with `tags`."""
    return [{"ResourceType": resource_type, "Tags": as_list(tags)}]


def filters(cluster: str, role: str | None = None, name: str | None = None, **extra: list[str]) -> list[dict[str, Any]]:
    """EC2 describe filters for the cluster's owned resources, narrowed by role, Name and plain filters
    (keyword names with `_` for `-`, e.g. `vpc_id=[...]`)."""
    found: list[dict[str, Any]] = [{"Name": f"tag:{cluster_tag_key(cluster)}", "Values": [OWNED]}]
    if role is not None:
        found.append({"Name": f"tag:{ROLE_TAG}", "Values": [role]})
    if name is not None:
        found.append({"Name": f"tag:{NAME_TAG}", "Values": [name]})
    found.extend({"Name": key.replace("_", "-"), "Values": values} for key, values in extra.items())
    return found

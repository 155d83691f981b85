"""The AWS provider's spec and status models (infrastructure.cluster.x-k8s.io/v1beta2) with CAPA's field names for
what herd builds; the provider SDK makes the kinds, their templates and CRDs from them."""

from __future__ import annotations

from .awscluster import AWSClusterSpec, AWSClusterStatus
from .awsmachine import AWSMachineSpec, AWSMachineStatus
from .types import API_VERSION, GROUP, VERSION

__all__ = ["API_VERSION", "GROUP", "VERSION", "AWSClusterSpec", "AWSClusterStatus", "AWSMachineSpec",
           "AWSMachineStatus"]

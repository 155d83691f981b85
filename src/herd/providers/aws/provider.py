"""The AWS provider declared on the provider SDK: AWSCluster and AWSMachine (and their templates), CAPA's kinds.

    herd up --provider herd.providers.aws.provider:provider
"""

from __future__ import annotations

from herd.providersdk import Backoff, ClusterKind, InfrastructureProvider, MachineKind

from .api import AWSClusterSpec, AWSClusterStatus, AWSMachineSpec, AWSMachineStatus
from .awscluster_controller import delete_cluster, reconcile_cluster
from .awsmachine_controller import delete_machine, reconcile_machine

provider = InfrastructureProvider(
    name="aws",
    cluster=ClusterKind(
        "AWSCluster", AWSClusterSpec, AWSClusterStatus, reconcile=reconcile_cluster, delete=delete_cluster,
        description="The AWS infrastructure of one cluster: VPC, subnets, internet and NAT gateways, route tables, "
                    "security groups and the API server load balancer."),
    machine=MachineKind(
        "AWSMachine", AWSMachineSpec, AWSMachineStatus, reconcile=reconcile_machine, delete=delete_machine,
        description="One EC2 instance of a cluster, its bootstrap data delivered through Secrets Manager or SSM."),
    backoff=Backoff(initial=1.0, factor=2.0, maximum=300.0),
)

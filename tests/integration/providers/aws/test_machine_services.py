"""Machine services against moto: an instance launched once however often the reconcile is cut short, and bootstrap
data chunks that round-trip through Secrets Manager and SSM and are all deleted."""

from __future__ import annotations

import os

import pytest

from herd.providers.aws.services import userdata
from herd.providers.aws.services.cluster import ClusterDesired, reconcile_all
from herd.providers.aws.services.images import find_image
from herd.providers.aws.services.instances import LaunchSpec, find_instance, launch, terminate, user_data_of
from herd.providers.aws.services.inventory import owned_resources
from herd.providers.aws.services.loadbalancer import default_name
from herd.providers.aws.services.scope import AWSScope
from herd.providers.aws.services.teardown import delete_cluster_infrastructure


def test_an_instance_is_found_by_its_tags_after_a_crash_and_never_launched_twice(aws: AWSScope) -> None:
    network = reconcile_all(aws, ClusterDesired(zone_limit=1, load_balancer_name=default_name(aws.cluster)))
    image = find_image(aws, None, None, None, None, "v1.33.1", "x86_64")
    subnet = network.private_subnets()[0]
    spec = LaunchSpec(machine="md-0", role="node", image_id=image.id, root_device_name=image.root_device_name,
                      instance_type="t3.large", subnet_id=subnet.id,
                      security_group_ids=[network.security_groups["node"]["id"]], user_data=b"#cloud-config\n",
                      root_volume={"size": 20, "type": "gp3"})

    def reconcile(known_id: str | None) -> str:  # what the AWSMachine reconcile does, without the status write
        found = find_instance(aws, "md-0", known_id)
        return (found or launch(aws, spec)).id

    first = reconcile(None)
    assert reconcile(None) == first == reconcile(first)  # the ID was never recorded, or it was
    assert owned_resources(aws)["instances"] == [first]
    assert user_data_of(aws, first) == b"#cloud-config\n"
    found = find_instance(aws, "md-0", first)
    assert found is not None and found.provider_id == f"aws:///{subnet.availability_zone}/{first}"

    if not terminate(aws, first):  # AWS answers shutting-down; a later look sees terminated
        gone = find_instance(aws, "md-0", first)
        assert gone is not None and gone.state == "terminated"
    assert find_instance(aws, "md-0", None) is None
    assert delete_cluster_infrastructure(aws, default_name(aws.cluster))


@pytest.mark.parametrize(("backend", "min_chunks"), [("secrets-manager", 2), ("ssm", 3)])
def test_bootstrap_data_chunks_round_trip_and_are_all_deleted(aws: AWSScope, backend: str, min_chunks: int) -> None:
    data = os.urandom(9000)  # incompressible: more than one chunk either way
    prefix = userdata.secret_prefix(backend, f"uid-{aws.cluster}")
    stored = userdata.store(aws, backend, prefix, data, "cp-0", "control-plane")
    assert stored.count >= min_chunks
    again = userdata.store(aws, backend, prefix, data, "cp-0", "control-plane")  # a retried reconcile
    assert again == stored
    assert userdata.fetch(aws, stored) == data
    kind = "secrets" if backend == "secrets-manager" else "parameters"
    assert len(owned_resources(aws)[kind]) == stored.count

    booted = userdata.boot(aws, userdata.boot_user_data(stored, aws.clients.region, aws.clients.endpoint_url))
    assert booted == data  # what the boot script hands cloud-init
    assert owned_resources(aws)[kind] == [], "the boot script deletes the chunks it read"
    userdata.store(aws, backend, prefix, data, "cp-0", "control-plane")
    userdata.delete_all(aws, backend, prefix)
    assert owned_resources(aws)[kind] == []

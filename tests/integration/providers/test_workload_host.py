"""The workload host child process (`herd up`'s home of the simulated workload clusters): its JSON-lines requests
start a cluster's API server and its etcd members, which answer through the API server's pod port-forward."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from herd.apiserver.kubeconfig import build_kubeconfig
from herd.apiserver.pki import CertificateAuthority
from herd.cli.workload_host import WorkloadHostProcess
from herd.controlplane.kubeadm.etcd import EtcdClient, EtcdError, EtcdMember, EtcdStatus, etcd_client_tls
from herd.providers.dev.devcluster_controller import free_port
from herd.providers.dev.etcdsim import member_id
from herd.providers.dev.kinds import POD
from herd.providers.dev.staticpods import mirror_pod
from herd.providers.dev.workload import WorkloadPKI, client_from_kubeconfig
from herd.runtime import Client, ClientError
from herd.runtime.portforward import PortForward

CLUSTER = "ns/demo"
CA, ETCD_CA = CertificateAuthority.generate("kubernetes"), CertificateAuthority.generate("etcd-ca")
PKI = WorkloadPKI(CA.cert_pem, CA.key_pem, etcd_ca_cert=ETCD_CA.cert_pem, etcd_ca_key=ETCD_CA.key_pem)


@pytest.fixture
async def host() -> AsyncIterator[WorkloadHostProcess]:
    process = WorkloadHostProcess()
    try:
        yield process
    finally:
        await process.close()


def admin_client(port: int) -> Client:
    cert, key = CA.issue_client_cert("kubernetes-admin", ["system:masters"])
    return client_from_kubeconfig(build_kubeconfig(server=f"https://127.0.0.1:{port}", ca_pem=CA.cert_pem,
                                                   cluster_name="demo", user_name="admin", client_cert_pem=cert,
                                                   client_key_pem=key))


async def ask(workload: Client, node: str) -> tuple[EtcdStatus, list[EtcdMember]] | None:
    """The member's status and member list through a port-forward to `etcd-<node>`; None when it does not answer."""
    tls = etcd_client_tls(ETCD_CA.cert_pem, ETCD_CA.key_pem)
    try:
        async with (PortForward(workload, "kube-system", f"etcd-{node}", 2379) as forward,
                    EtcdClient(f"https://127.0.0.1:{forward.port}", tls, timeout=2.0) as etcd):
            return await etcd.status(), await etcd.member_list()
    except (EtcdError, ClientError, OSError):
        return None


async def test_etcd_members_answer_through_the_pod_port_forward_until_stopped(host: WorkloadHostProcess) -> None:
    port = free_port()
    await host.start(CLUSTER, "127.0.0.1", port, PKI)
    await host.set_etcd_member(CLUSTER, "cp-0", running=True)  # kubeadm init: the first member leads
    await host.set_etcd_member(CLUSTER, "cp-1", running=True)  # kubeadm join --control-plane
    await host.set_etcd_member(CLUSTER, "cp-2", running=True)
    workload = admin_client(port)
    try:
        for node in ("cp-0", "cp-1", "cp-2", "stranger"):  # the API server forwards only to pods that exist
            await workload.create(mirror_pod("etcd", {"metadata": {"name": node}}, "etcd:3"), kind=POD)
        answer = await ask(workload, "cp-1")
        assert answer is not None
        status, members = answer
        assert sorted(m.name for m in members) == ["cp-0", "cp-1", "cp-2"]
        assert status.leader_id == member_id("cp-0")

        await host.set_etcd_member(CLUSTER, "cp-0", running=False)  # the leader stops: the other two elect one
        assert await ask(workload, "cp-0") is None
        answer = await ask(workload, "cp-1")
        assert answer is not None and len(answer[1]) == 3, "a stopped member stays a member"
        assert answer[0].leader_id in {member_id("cp-1"), member_id("cp-2")}
        assert await ask(workload, "stranger") is None, "no etcd pod on a Node that is no member"

        await host.set_etcd_member(CLUSTER, "cp-0", running=True)
        assert await ask(workload, "cp-0") is not None

        # an outage of the API server keeps etcd; dropping the cluster drops it
        await host.stop(CLUSTER, keep_data=True)
        await host.start(CLUSTER, "127.0.0.1", port, PKI)
        assert await ask(workload, "cp-2") is not None
        await host.stop(CLUSTER)
        await host.start(CLUSTER, "127.0.0.1", port, PKI)
        await workload.create(mirror_pod("etcd", {"metadata": {"name": "cp-2"}}, "etcd:3"), kind=POD)
        assert await ask(workload, "cp-2") is None
    finally:
        await workload.close()

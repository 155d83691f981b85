"""The simulated etcd's own rules, where the real-etcd comparison cannot reach cheaply: elections as members stop
and start, learners, the health interval before a running member may be removed, and members brought back."""

from __future__ import annotations

import pytest

from herd.contract.certificates import new_ca
from herd.controlplane.kubeadm.etcd import EtcdClient, EtcdError, etcd_client_tls
from herd.providers.dev.etcdsim import NO_LEADER, EtcdApiError, MustWait, SimulatedEtcd, SimulatedEtcdCluster, member_id


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def three_members(clock: Clock | None = None) -> SimulatedEtcd:
    etcd = SimulatedEtcd("c1", clock=clock or Clock())
    for name in ("a", "b", "c"):
        etcd.add_member(name)
    return etcd


def test_member_ids_follow_the_names() -> None:
    assert member_id("node-1") == member_id("node-1") != member_id("node-2")
    etcd = three_members()
    assert [member.id for member in etcd.members] == sorted(member_id(name) for name in "abc")
    with pytest.raises(ValueError, match="already exists"):
        etcd.add_member("a")
    etcd.set_running("gone", False)  # a machine whose member was removed first
    with pytest.raises(KeyError, match="no etcd member gone"):
        etcd.set_running("gone", True)


def test_a_new_leader_is_elected_when_the_leader_stops_and_none_without_quorum() -> None:
    etcd = three_members()
    first, term = etcd.leader_id, etcd.raft_term
    assert first is not None and etcd.status_errors() == []
    first_name = next(member.name for member in etcd.members if member.id == first)
    etcd.set_running(first_name, False)
    assert etcd.leader_id not in (None, first) and etcd.raft_term > term
    second_name = next(member.name for member in etcd.members if member.id == etcd.leader_id)
    etcd.set_running(second_name, False)
    assert etcd.leader_id is None and etcd.status_errors() == [NO_LEADER]
    with pytest.raises(MustWait):
        etcd.alarm_list()
    etcd.set_running(first_name, True)
    assert etcd.leader_id is not None


def test_move_leader_checks_who_asks_and_the_target() -> None:
    etcd = three_members()
    leader = etcd.leader_id
    assert leader is not None
    follower, other = (member.id for member in etcd.members if member.id != leader)
    with pytest.raises(EtcdApiError, match="not leader"):
        etcd.move_leader(other, via=follower)
    with pytest.raises(EtcdApiError, match="bad leader transferee"):
        etcd.move_leader(42, via=leader)
    etcd.move_leader(follower, via=leader)
    assert etcd.leader_id == follower
    etcd.set_running(next(member.name for member in etcd.members if member.id == other), False)
    with pytest.raises(MustWait):  # etcd waits for a transferee that is down
        etcd.move_leader(other)


def test_learners_are_listed_never_lead_and_leave_without_the_quorum_checks() -> None:
    etcd = three_members()
    learner = etcd.add_member("d", learner=True)
    assert [member.is_learner for member in etcd.members if member.id == learner] == [True]
    with pytest.raises(EtcdApiError, match="bad leader transferee"):
        etcd.move_leader(learner)
    assert member_id("d") not in [member.id for member in etcd.remove_member(learner)]  # even right after it started


def test_a_running_member_is_removed_only_after_the_health_interval() -> None:
    clock = Clock()
    etcd = three_members(clock)
    target = next(member.id for member in etcd.members if member.id != etcd.leader_id)
    with pytest.raises(EtcdApiError, match="unhealthy cluster"):
        etcd.remove_member(target)
    clock.now += 5.0
    assert len(etcd.remove_member(target)) == 2
    etcd.add_member("d")  # joined just now: not yet counted as connected
    with pytest.raises(EtcdApiError, match="unhealthy cluster"):
        etcd.remove_member(member_id("d"))


def test_an_unstarted_member_blocks_removals_that_would_leave_too_few_started_members() -> None:
    etcd = SimulatedEtcd("c1", health_interval=0.0)
    etcd.add_member("a")
    etcd.add_member("b", running=False)  # added, never started: the cluster waits for it
    assert etcd.leader_id is None
    with pytest.raises(EtcdApiError, match="not enough started members"):
        etcd.remove_member(member_id("a"))
    etcd.set_running("b", True)
    assert etcd.leader_id is not None
    assert [member.name for member in etcd.remove_member(member_id("b"))] == ["a"]


async def test_join_serves_a_new_member_and_brings_a_stopped_one_back() -> None:
    ca = new_ca("etcd-ca", algorithm="ECDSA-P256")
    cluster = SimulatedEtcdCluster("c1", ca.cert, ca.key)
    try:
        server = await cluster.join("a")
        async with EtcdClient(server.url, etcd_client_tls(ca.cert, ca.key), timeout=2.0) as client:
            assert (await client.status()).is_leader
            cluster.etcd.set_running("a", False)
            with pytest.raises(EtcdError) as down:
                await client.status()
            assert down.value.unreachable
            assert (await cluster.join("a")).port == server.port
            assert (await client.status()).is_leader
    finally:
        await cluster.close()

"""The KubeadmControlPlane's etcd client against a three-member TLS etcd: each test runs against real etcd and
against the Dev provider's simulated etcd, so both answer the same way."""

from __future__ import annotations

import json
import ssl
from typing import Any, Protocol

import aiohttp
import pytest
from support.waiting import eventually

from herd.contract.certificates import KeyPair, new_ca
from herd.controlplane.kubeadm.etcd import EtcdAlarm, EtcdClient, EtcdError, EtcdStatus, etcd_client_tls

pytestmark = pytest.mark.timeout(60)

Clients = dict[str, EtcdClient]
NAMES = ("m0", "m1", "m2")  # the members of the `cluster` fixture (conftest.py)


class EtcdCluster(Protocol):
    ca: KeyPair
    urls: dict[str, str]

    async def stop(self, name: str) -> None: ...

    async def settle(self) -> None: ...

    async def raise_alarm(self, target_id: int, alarm: str) -> None: ...


async def member_ids(client: EtcdClient) -> dict[str, int]:
    return {member.name: member.id for member in await client.member_list()}


async def statuses(clients: Clients) -> dict[str, EtcdStatus]:
    return {name: await client.status() for name, client in clients.items()}


async def leader_name(clients: Clients) -> str:
    ids = await member_ids(clients["m0"])
    leader = (await clients["m0"].status()).leader_id
    return next(name for name, member in ids.items() if member == leader)


async def all_follow(clients: Clients, leader: int) -> None:
    for name, status in (await statuses(clients)).items():
        assert status.leader_id == leader, f"{name} follows {status.leader_id}"


async def test_every_member_lists_the_three_members(clients: Clients) -> None:
    listed = [await client.member_list() for client in clients.values()]
    assert all(members == listed[0] for members in listed)
    assert sorted(member.name for member in listed[0]) == sorted(NAMES)
    assert len({member.id for member in listed[0]}) == 3
    assert [member.id for member in listed[0]] == sorted(member.id for member in listed[0])
    assert all(member.peer_urls and member.client_urls and not member.is_learner for member in listed[0])


async def test_status_names_one_leader_that_all_members_follow(clients: Clients) -> None:
    ids = await member_ids(clients["m0"])
    seen = await statuses(clients)
    assert {name: status.member_id for name, status in seen.items()} == ids
    assert len({status.leader_id for status in seen.values()}) == 1
    assert seen["m0"].leader_id in ids.values()
    assert sum(status.is_leader for status in seen.values()) == 1
    for status in seen.values():
        assert status.errors == ()
        assert status.version.startswith("3.")
        assert status.raft_term >= 1 and status.raft_index >= 1 and not status.is_learner


async def test_move_leader_hands_leadership_to_the_target(clients: Clients) -> None:
    ids = await member_ids(clients["m0"])
    leader = await leader_name(clients)
    target = next(name for name in NAMES if name != leader)
    await clients[leader].move_leader(ids[target])
    assert (await clients[target].status()).is_leader
    await eventually(lambda: all_follow(clients, ids[target]), "every member following the new leader")
    await clients[target].move_leader(ids[target])  # to itself: nothing to do


async def test_move_leader_sent_to_a_follower_is_refused(clients: Clients) -> None:
    ids = await member_ids(clients["m0"])
    leader = await leader_name(clients)
    follower = next(name for name in NAMES if name != leader)
    with pytest.raises(EtcdError, match=r"is not the leader; send MoveLeader to the leader") as refused:
        await clients[follower].move_leader(ids[leader])
    assert (refused.value.grpc_code, refused.value.http_status) == (9, 412)
    assert (await clients[follower].status()).leader_id == ids[leader]


async def test_move_leader_to_an_unknown_member_is_refused(clients: Clients) -> None:
    leader = await leader_name(clients)
    with pytest.raises(EtcdError, match=r"^etcdserver: bad leader transferee$"):
        await clients[leader].move_leader(12345)


async def test_removal_waits_for_settled_members_then_shrinks_to_one_but_never_to_none(
        cluster: EtcdCluster, clients: Clients) -> None:
    ids = await member_ids(clients["m0"])
    leader = await leader_name(clients)
    follower, other = (name for name in NAMES if name != leader)
    with pytest.raises(EtcdError, match=r"^etcdserver: unhealthy cluster$") as fresh:
        await clients[follower].member_remove(ids[leader])
    assert (fresh.value.grpc_code, fresh.value.http_status) == (14, 503)
    await cluster.settle()

    remaining = await clients[follower].member_remove(ids[leader])  # the leader itself, through a follower
    assert sorted(member.name for member in remaining) == sorted((follower, other))
    survivors = {follower: clients[follower], other: clients[other]}

    async def new_leader() -> str:
        seen = await statuses(survivors)
        leaders = [name for name, status in seen.items() if status.is_leader]
        assert len(leaders) == 1 and all(status.leader_id == ids[leaders[0]] for status in seen.values()), seen
        return leaders[0]

    new = await eventually(new_leader, "a new leader among the remaining members", retry_on=(EtcdError,))

    async def gone() -> None:
        with pytest.raises(EtcdError) as unreachable:
            await clients[leader].status()
        assert unreachable.value.unreachable

    await eventually(gone, "the removed member to stop answering")
    last = follower if new == other else other
    assert [member.name for member in await clients[new].member_remove(ids[last])] == [new]
    with pytest.raises(EtcdError, match=r"^etcdserver: re-configuration failed due to not enough started members$"):
        await clients[new].member_remove(ids[new])
    assert [member.name for member in await clients[new].member_list()] == [new]


async def test_removing_an_unknown_member_is_not_found(clients: Clients) -> None:
    with pytest.raises(EtcdError, match=r"^etcdserver: member not found$") as missing:
        await clients["m1"].member_remove(12345)
    assert (missing.value.grpc_code, missing.value.http_status) == (5, 404)
    assert len(await clients["m1"].member_list()) == 3


async def test_a_stopped_member_does_not_answer_cannot_lead_and_only_it_may_be_removed(cluster: EtcdCluster,
                                                                          clients: Clients) -> None:
    ids = await member_ids(clients["m0"])
    leader = await leader_name(clients)
    stopped, running = (name for name in NAMES if name != leader)
    await cluster.settle()
    await cluster.stop(stopped)
    with pytest.raises(EtcdError) as down:
        await clients[stopped].status()
    assert down.value.unreachable
    assert (await clients[running].status()).leader_id == ids[leader]
    # with one of three down, removing a running member would break the quorum
    with pytest.raises(EtcdError, match=r"^etcdserver: unhealthy cluster$") as unhealthy:
        await clients[leader].member_remove(ids[running])
    assert unhealthy.value.http_status == 503
    async with EtcdClient(cluster.urls[leader], etcd_client_tls(cluster.ca.cert, cluster.ca.key),
                          timeout=1.0) as short:
        # etcd waits for a transferee that is down: the client's deadline ends it, or (on a busy machine) etcd's
        # own transfer timeout comes first
        with pytest.raises(EtcdError, match=r"^(context deadline exceeded|etcdserver: request timed out, leader "
                                            r"transfer took too long)$") as waited:
            await short.move_leader(ids[stopped])
    # etcd answered (it did not hang or drop the call); which code depends on which deadline ended it: the
    # gateway's own (Unknown, 500), etcd's request deadline (DeadlineExceeded, 504) or the transfer's (Unavailable, 503)
    assert not waited.value.unreachable
    assert (waited.value.grpc_code, waited.value.http_status) in ((2, 500), (4, 504), (14, 503))
    remaining = await eventually(lambda: clients[leader].member_remove(ids[stopped]), "the stopped member removed",
                                 retry_on=(EtcdError,))  # once the leader has given up the transfer
    assert sorted(member.name for member in remaining) == sorted((leader, running))


async def test_without_quorum_status_reports_no_leader_and_alarms_wait_for_the_deadline(
        cluster: EtcdCluster, clients: Clients) -> None:
    leader = await leader_name(clients)
    for name in NAMES:
        if name != leader:
            await cluster.stop(name)

    async def no_leader() -> None:
        status = await clients[leader].status()
        assert status.leader_id is None and status.errors == ("etcdserver: no leader",)

    await eventually(no_leader, "the lone member to lose its leadership")
    assert len(await clients[leader].member_list()) == 3  # served locally
    async with EtcdClient(cluster.urls[leader], etcd_client_tls(cluster.ca.cert, cluster.ca.key),
                          timeout=1.0) as short:
        with pytest.raises(EtcdError, match=r"^context deadline exceeded$") as waited:
            await short.alarm_list()
    # the gateway answers 504, or 500 when its own context ran out first (seen on a busy machine)
    assert waited.value.http_status in (500, 504)


async def test_alarms_are_empty_then_show_what_was_raised(cluster: EtcdCluster, clients: Clients) -> None:
    ids = await member_ids(clients["m0"])
    assert [await client.alarm_list() for client in clients.values()] == [[], [], []]
    await cluster.raise_alarm(ids["m1"], "NOSPACE")
    for client in clients.values():
        assert await client.alarm_list() == [EtcdAlarm(ids["m1"], "NOSPACE")]
        assert (await client.status()).errors == (f"memberID:{ids['m1']} alarm:NOSPACE ",)


async def test_clients_without_a_certificate_from_the_etcd_ca_are_refused(cluster: EtcdCluster,
                                                                         clients: Clients) -> None:
    no_certificate = ssl.create_default_context(cadata=cluster.ca.cert.decode())
    other = new_ca("other-etcd-ca", algorithm="ECDSA-P256")
    foreign_certificate = etcd_client_tls(other.cert, other.key)
    foreign_certificate.load_verify_locations(cadata=cluster.ca.cert.decode())  # trusts the member all the same
    for context in (no_certificate, foreign_certificate):
        async with EtcdClient(cluster.urls["m0"], context, timeout=2.0) as refused:
            with pytest.raises(EtcdError) as error:
                await refused.status()
            assert error.value.unreachable
    untrusting = etcd_client_tls(other.cert, other.key)  # does not trust the member's serving certificate
    async with EtcdClient(cluster.urls["m0"], untrusting, timeout=2.0) as wary:
        with pytest.raises(EtcdError, match=r"CERTIFICATE_VERIFY_FAILED"):
            await wary.status()
    assert len(await clients["m0"].member_list()) == 3


async def test_the_gateway_answers_etcds_json_shapes_and_http_errors(cluster: EtcdCluster) -> None:
    context = etcd_client_tls(cluster.ca.cert, cluster.ca.key)
    url = cluster.urls["m0"]
    async with aiohttp.ClientSession() as session:

        async def post(path: str, body: bytes = b"{}") -> tuple[int, Any]:
            async with session.post(url + path, data=body, ssl=context) as response:
                text = await response.text()
                return response.status, json.loads(text) if response.content_type == "application/json" else text

        status, listed = await post("/v3/cluster/member/list")
        assert status == 200 and set(listed) == {"header", "members"}
        assert set(listed["header"]) == {"cluster_id", "member_id", "raft_term"}
        for member in listed["members"]:
            assert set(member) == {"ID", "name", "peerURLs", "clientURLs"} and member["ID"].isdigit()
        status, state = await post("/v3/maintenance/status")
        assert status == 200
        assert {"header", "version", "dbSize", "leader", "raftIndex", "raftTerm", "raftAppliedIndex",
                "dbSizeInUse"} <= set(state) <= {"header", "version", "dbSize", "leader", "raftIndex", "raftTerm",
                                                  "raftAppliedIndex", "dbSizeInUse", "errors", "isLearner"}
        assert all(state[field].isdigit() for field in ("dbSize", "leader", "raftIndex", "raftTerm"))
        assert await post("/v3/cluster/member/remove", b'{"ID": 12345}') == \
            (404, {"error": "etcdserver: member not found", "message": "etcdserver: member not found", "code": 5})
        status, invalid = await post("/v3/cluster/member/remove", b'{"ID":')
        assert status == 400 and invalid["code"] == 3 and invalid["message"] == invalid["error"]
        assert await post("/v3/no/such/call") == (404, "Not Found\n")
        async with session.get(url + "/v3/cluster/member/list", ssl=context) as response:
            assert (response.status, await response.text()) == (405, "Method Not Allowed\n")

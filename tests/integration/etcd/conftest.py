"""Three-member etcd clusters with mutual TLS from one etcd CA, for the tests that run against both: real etcd
(the `etcd` binary, ≥ 3.4, on loopback ports) and the Dev provider's simulated etcd.

Each cluster offers the same handles: the CA, a client URL per member (m0, m1, m2), `stop(name)` (a crash),
`raise_alarm(member_id, alarm)` (through etcd's API on the real one, through the state on the simulated one), and
`settle()`: etcd removes a running member only once the members have been connected for 5 s (its health
interval), which the real cluster waits out and the simulated one's clock skips.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from support.waiting import eventually

from herd.contract.certificates import KeyPair, new_ca
from herd.controlplane.kubeadm.etcd import EtcdClient, EtcdError, etcd_client_tls
from herd.providers.dev.etcdsim import SimulatedEtcdCluster, member_certificate

NAMES = ("m0", "m1", "m2")
HEALTH_INTERVAL = 5.0  # etcd's, plus nothing: connections are made before the cluster is ready
ETCD = shutil.which("etcd")


def _etcd_version() -> tuple[int, int]:
    if ETCD is None:
        return (0, 0)
    found = re.search(r"etcd Version: (\d+)\.(\d+)", subprocess.run([ETCD, "--version"], capture_output=True,
                                                                    text=True, check=False).stdout)
    return (int(found[1]), int(found[2])) if found else (0, 0)


REAL_ETCD_MISSING = "no etcd >= 3.4 binary on PATH (Debian: apt-get install etcd-server)"
REAL = pytest.param("real", marks=pytest.mark.skipif(_etcd_version() < (3, 4), reason=REAL_ETCD_MISSING))
SIMULATED = pytest.param("simulated")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class RealEtcd:
    """`etcd` processes, peer and client TLS from the CA, data under tmp_path, no fsync (tests only)."""

    def __init__(self, base: Path, ca: KeyPair) -> None:
        self.ca, self.base = ca, base
        client_ports, peer_ports = _free_ports(3), _free_ports(3)
        self.urls = {name: f"https://127.0.0.1:{port}" for name, port in zip(NAMES, client_ports, strict=True)}
        self.peers = {name: f"https://127.0.0.1:{port}" for name, port in zip(NAMES, peer_ports, strict=True)}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ready_at = 0.0
        (base / "ca.crt").write_bytes(ca.cert)

    def start(self) -> None:
        initial = ",".join(f"{name}={url}" for name, url in self.peers.items())
        for name in NAMES:
            pair = member_certificate(self.ca.cert, self.ca.key, name)
            (self.base / f"{name}.crt").write_bytes(pair.cert)
            (self.base / f"{name}.key").write_bytes(pair.key)
            tls = [f"--{side}{flag}={self.base / file}" for side in ("", "peer-") for flag, file in
                   (("cert-file", f"{name}.crt"), ("key-file", f"{name}.key"), ("trusted-ca-file", "ca.crt"))]
            command = [ETCD or "etcd", f"--name={name}", f"--data-dir={self.base / name}",
                       f"--listen-client-urls={self.urls[name]}", f"--advertise-client-urls={self.urls[name]}",
                       f"--listen-peer-urls={self.peers[name]}", f"--initial-advertise-peer-urls={self.peers[name]}",
                       f"--initial-cluster={initial}", "--initial-cluster-state=new",
                       "--initial-cluster-token=herd-test", "--client-cert-auth", "--peer-client-cert-auth", *tls,
                       "--heartbeat-interval=50", "--election-timeout=500", "--unsafe-no-fsync",
                       "--log-level=error"]
            with (self.base / f"{name}.log").open("wb") as log:
                self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    async def stop(self, name: str) -> None:
        process = self.processes[name]
        process.kill()
        process.wait(timeout=10)

    async def settle(self) -> None:
        await asyncio.sleep(max(0.0, self.ready_at + HEALTH_INTERVAL - time.monotonic()))

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.kill()
        for process in self.processes.values():
            process.wait(timeout=10)

    async def raise_alarm(self, target_id: int, alarm: str) -> None:
        request = {"action": "ACTIVATE", "memberID": str(target_id), "alarm": alarm}
        context = etcd_client_tls(self.ca.cert, self.ca.key)
        async with aiohttp.ClientSession() as session, session.post(
                self.urls["m0"] + "/v3/maintenance/alarm", json=request, ssl=context) as response:
            assert response.status == 200, await response.text()


class SimulatedCluster:
    def __init__(self, ca: KeyPair) -> None:
        self.ca = ca
        self.now = 0.0
        self.simulated = SimulatedEtcdCluster("herd-test", ca.cert, ca.key, clock=lambda: self.now)
        self.urls: dict[str, str] = {}

    async def start(self) -> None:
        for name in NAMES:
            self.urls[name] = (await self.simulated.join(name)).url

    async def stop(self, name: str) -> None:
        self.simulated.etcd.set_running(name, False)

    async def settle(self) -> None:
        self.now += HEALTH_INTERVAL

    async def raise_alarm(self, target_id: int, alarm: str) -> None:
        self.simulated.etcd.raise_alarm(target_id, alarm)

    async def close(self) -> None:
        await self.simulated.close()


async def wait_for_leader(cluster: RealEtcd | SimulatedCluster, *, timeout: float = 10.0) -> None:
    """Until every member answers and names the same leader."""
    context = etcd_client_tls(cluster.ca.cert, cluster.ca.key)

    async def one_leader() -> bool:
        leaders = set()
        for url in cluster.urls.values():
            async with EtcdClient(url, context, timeout=1.0) as client:
                leaders.add((await client.status()).leader_id)
        return len(leaders) == 1 and None not in leaders

    await eventually(one_leader, "a leader that every member knows", timeout=timeout, retry_on=(EtcdError,))


@pytest.fixture(params=[REAL, SIMULATED])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RealEtcd | SimulatedCluster]:
    ca = new_ca("etcd-ca")
    if request.param == "real":
        real = RealEtcd(tmp_path, ca)
        started = time.monotonic()
        try:
            real.start()
            await wait_for_leader(real)
            real.ready_at = time.monotonic()
            print(f"real etcd: 3 members ready in {real.ready_at - started:.2f}s")  # startup time, shown with -s
            yield real
        finally:
            real.stop_all()
    else:
        simulated = SimulatedCluster(ca)
        try:
            await simulated.start()
            yield simulated
        finally:
            await simulated.close()


@pytest.fixture
async def clients(cluster: RealEtcd | SimulatedCluster) -> AsyncIterator[dict[str, EtcdClient]]:
    """A client per member, with a client certificate from the cluster's etcd CA."""
    context = etcd_client_tls(cluster.ca.cert, cluster.ca.key)
    opened = {name: EtcdClient(url, context, timeout=2.0) for name, url in cluster.urls.items()}
    yield opened
    for client in opened.values():
        await client.close()

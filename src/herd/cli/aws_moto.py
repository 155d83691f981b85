"""A moto server (AWS's API, simulated) on 127.0.0.1, seeded with CAPA-named AMIs and the instance profiles
`clusterawsadm bootstrap iam` makes, for trying herd's AWS provider without an AWS account: `herd dev aws`, its
tests, `bench/aws.py`. moto runs in a child process (`python -m moto.server`, from the `test` extra); nothing here
imports it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The account moto answers as; the seeded AMIs are published by it (the default lookup org is CAPA's account,
# so the seed publishes under that one too).
MOTO_ACCOUNT = "123456789012"
CAPA_ACCOUNT = "819546954734"
KUBERNETES_VERSIONS = ("v1.32.5", "v1.33.1", "v1.34.0")
REGION = "us-east-1"
# The instance profiles CAPA's templates name (made in a real account by `clusterawsadm bootstrap iam`)
INSTANCE_PROFILES = tuple(f"{role}.cluster-api-provider-aws.sigs.k8s.io"
                          for role in ("control-plane", "controllers", "nodes"))


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: its URL and process."""

    url: str
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        """What a process needs to talk to this server with boto3 as if it were AWS."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION, "AWS_MAX_ATTEMPTS": "1"}

    def reset(self) -> None:
        """Forget every resource (the seeded AMIs come back)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        seed_instance_profiles(self.url)


def seed_instance_profiles(url: str) -> None:
    """The instance profiles (and their roles) of INSTANCE_PROFILES, as CAPA's IAM bootstrap makes them."""
    import boto3  # type: ignore[import-untyped]  # only where a moto server runs

    iam = boto3.client("iam", endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for name in INSTANCE_PROFILES:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)


def seeded_amis(versions: tuple[str, ...] = KUBERNETES_VERSIONS) -> list[dict[str, object]]:
    """Two builds per Kubernetes version and base OS (an older and a newer one), for both accounts."""
    images: list[dict[str, object]] = []
    for number, version in enumerate(versions):
        for build, date in enumerate(("2026-01-01T00:00:00.000Z", "2026-06-01T00:00:00.000Z")):
            for base_os in ("ubuntu-24.04", "flatcar-stable"):
                for owner in (CAPA_ACCOUNT, MOTO_ACCOUNT):
                    ident = f"{number:02x}{build:02x}{len(base_os):02x}{owner[-4:]}"
                    images.append({
                        "ami_id": f"ami-{ident:0>17}", "name": f"capa-ami-{base_os}-{version}-17{build}0000000",
                        "owner_id": owner, "architecture": "x86_64", "virtualization_type": "hvm",
                        "state": "available", "creation_date": date, "root_device_name": "/dev/sda1",
                        "root_device_type": "ebs", "public": True, "description": f"Cluster API {version}",
                    })
    return images


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def moto_server(workdir: Path, port: int = 0) -> Iterator[MotoServer]:
    """`moto_server` in a child process on `port` (a free one when 0), with the seeded AMIs; stopped on exit."""
    amis = workdir / "amis.json"
    amis.write_text(json.dumps(seeded_amis()))
    port = port or _free_port()
    env = {**os.environ, "MOTO_AMIS_PATH": str(amis), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing"}
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        seed_instance_profiles(url)
        yield MotoServer(url, process)
    finally:
        process.terminate()
        process.wait(timeout=10)

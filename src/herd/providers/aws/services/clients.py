"""boto3 clients for one region, and a count of the AWS API calls they make.

Credentials come from boto3's usual chain (environment, shared profile, instance role); the endpoint from
`AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`), which boto3 honours itself, so the same code talks to AWS or
to a moto server. Nothing here logs a credential.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

DEFAULT_REGION = "us-east-1"


@dataclass
class CallCounter:
    """How many API calls each operation has made (botocore's `before-call` event), for benchmarks and tests."""

    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, model: Any = None, **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}" if model is not None else "unknown"
        with self.lock:
            self.calls[name] += 1

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.calls.values())


@dataclass
class AWSClients:
    """The clients of the services the provider uses, in one region, sharing one botocore session."""

    region: str
    endpoint_url: str | None
    session: Any
    ec2: Any
    elbv2: Any
    elb: Any
    secretsmanager: Any
    ssm: Any
    counter: CallCounter

    def register(self, event: str, handler: Callable[..., Any]) -> None:
        """Hook `handler` to a botocore event (e.g. `before-call.ec2.RunInstances`) on every client: fault
        injection, call counting. Each client has its own copy of the session's hooks, made when it was."""
        for client in (self.ec2, self.elbv2, self.elb, self.secretsmanager, self.ssm):
            client.meta.events.register(event, handler)


def make_clients(region: str | None = None, endpoint_url: str | None = None, max_attempts: int | None = None,
                 credentials: dict[str, str] | None = None) -> AWSClients:
    """Clients for `region` (the session's default region, else us-east-1).

    `credentials` (access key, secret, optional session token; e.g. from a Secret) take the place of boto3's
    chain; `max_attempts` bounds botocore's own retries (the controller retries too, with its own backoff)."""
    keys = credentials or {}
    session = boto3.Session(
        aws_access_key_id=keys.get("AccessKeyID") or None, aws_secret_access_key=keys.get("SecretAccessKey") or None,
        aws_session_token=keys.get("SessionToken") or None, region_name=region or None)
    region = session.region_name or DEFAULT_REGION
    config = Config(retries={"max_attempts": max_attempts, "mode": "standard"} if max_attempts else None,
                    connect_timeout=10, read_timeout=30)
    counter = CallCounter()
    session.events.register("before-call.*.*", counter.record)

    def client(service: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)

    return AWSClients(region=region, endpoint_url=endpoint_url, session=session, ec2=client("ec2"),
                      elbv2=client("elbv2"), elb=client("elb"),
                      secretsmanager=client("secretsmanager"), ssm=client("ssm"), counter=counter)

"""Where the provider's AWS clients come from: one set per region, made once (making boto3 clients costs a second
of CPU) and shared by every reconcile. Credentials follow boto3's chain (environment, profile, instance role); the
endpoint is `AWS_ENDPOINT_URL` when set (a moto server, say)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .services.clients import AWSClients, make_clients

ClientsHook = Callable[[AWSClients], None]


@dataclass
class AWSEnvironment:
    """The provider's `services`: clients per region, and hooks run on each new set (e.g. fault injection)."""

    endpoint_url: str | None = field(default_factory=lambda: os.environ.get("AWS_ENDPOINT_URL") or None)
    max_attempts: int | None = None
    credentials: dict[str, str] | None = None  # AccessKeyID, SecretAccessKey, SessionToken; boto3's chain if None
    on_new_clients: list[ClientsHook] = field(default_factory=list)
    _clients: dict[str, AWSClients] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clients(self, region: str | None, credentials: dict[str, str] | None = None) -> AWSClients:
        """The clients of `region` (the default region when None) with `credentials` (the environment's when None),
        made on first use."""
        key = _key(region, credentials)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = make_clients(region, endpoint_url=self.endpoint_url, max_attempts=self.max_attempts,
                                     credentials=credentials or self.credentials)
                for hook in self.on_new_clients:
                    hook(found)
                self._clients[key] = found
            return found

    async def clients_async(self, region: str | None, credentials: dict[str, str] | None = None) -> AWSClients:
        """`clients`, off the event loop (the first call per region loads botocore's service models)."""
        found = self._clients.get(_key(region, credentials))
        if found is not None:
            return found
        return await asyncio.to_thread(self.clients, region, credentials)

    def api_calls(self) -> int:
        """How many AWS API calls every client set has made so far."""
        return sum(clients.counter.total for clients in self._clients.values())


def _key(region: str | None, credentials: dict[str, str] | None) -> str:
    """Clients are shared per region and identity; the identity is keyed by a digest, never kept in clear twice."""
    if not credentials:
        return region or ""
    digest = hashlib.sha256("\0".join(credentials.get(k, "") for k in sorted(credentials)).encode()).hexdigest()
    return f"{region or ''}/{digest}"


_default = AWSEnvironment()


def environment_of(services: object) -> AWSEnvironment:
    """The environment handed to the provider's controllers, or the process-wide one from the environment."""
    return services if isinstance(services, AWSEnvironment) else _default

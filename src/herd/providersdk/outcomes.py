"""What a provider's functions return or raise, and how failures are retried.

A reconcile function returns `ClusterProvisioned` / `MachineProvisioned` once the infrastructure exists (every
reconcile after that too: reconciles are level-triggered), or `Waiting` while it is on its way. A delete function
returns None once everything is gone (the SDK then removes the finalizer), or `Waiting`.

Failures are raised: `RetryableError` (throttling, capacity, a dependency not there yet) is tried again after a
growing delay (`Backoff`), `PermanentError` (invalid spec, a resource that cannot be made) waits for the object
to change. Either way the `Provisioned` condition (and so `Ready`) is False with the error's reason and message, and
a Warning Event is recorded. Any other exception counts as retryable with reason `InternalError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .models import APIEndpoint, FailureDomain, MachineAddress


@dataclass(frozen=True)
class Waiting:
    """Not provisioned (or not deleted) yet: `reason` (CamelCase) and `message` go into the Provisioned condition;
    `retry_after` seconds until the SDK looks again (None: when a watched object changes)."""

    reason: str
    message: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class ClusterProvisioned:
    """The cluster's infrastructure exists: its API endpoint and the failure domains machines may use.

    `endpoint` is written into `spec.controlPlaneEndpoint` once (the contract makes it immutable afterwards); None
    when the control plane provider supplies the endpoint. `recheck_after`: seconds until the SDK reconciles again
    even without an event (to notice drift), None for never."""

    endpoint: APIEndpoint | None = None
    failure_domains: Sequence[FailureDomain] = ()
    recheck_after: float | None = None


@dataclass(frozen=True)
class MachineProvisioned:
    """The machine exists: `provider_id` (written once into `spec.providerID`, the Node's providerID must match) and
    the addresses it is reached at. `recheck_after` as for `ClusterProvisioned`."""

    provider_id: str
    addresses: Sequence[MachineAddress] = ()
    recheck_after: float | None = None


class ProviderError(Exception):
    """A failure the provider reports; `reason` (CamelCase) names it in the Provisioned condition and the Event."""

    default_reason = "ProvisioningFailed"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason


class RetryableError(ProviderError):
    """Tried again after a growing delay; `retry_after` (seconds) overrides the delay when the cause says how long
    (e.g. a Retry-After header)."""

    def __init__(self, message: str, *, reason: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """Retrying cannot help until the object changes (a bad spec): reported, not retried."""

    default_reason = "InvalidSpec"


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1 after n consecutive failures: `initial * factor**(n-1)`, at most `maximum` seconds.
    A success (provisioned, or waiting without an error) starts the count again."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 300.0

    def delay(self, failures: int) -> float:
        if failures < 1:
            return 0.0
        return float(min(self.maximum, self.initial * self.factor ** (failures - 1)))


__all__ = ["Backoff", "ClusterProvisioned", "MachineAddress", "MachineProvisioned", "PermanentError",
           "ProviderError", "RetryableError", "Waiting"]

"""AWS errors as the provider meets them: their code, whether waiting helps, and a message fit for a condition."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

# Codes that mean "slow down": the request was fine, AWS was busy.
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
                              "RequestThrottled", "RequestThrottledException", "SlowDown"})
# Codes that mean "not now": capacity or a quota, which may free up.
CAPACITY_CODES = frozenset({"InsufficientInstanceCapacity", "InsufficientAddressCapacity",
                            "InsufficientFreeAddressesInSubnet", "InsufficientHostCapacity",
                            "InsufficientReservedInstanceCapacity", "Unsupported"})
QUOTA_SUFFIX = "LimitExceeded"


class AWSError(Exception):
    """An AWS call that failed: `code` is AWS's error code, `operation` the call."""

    def __init__(self, code: str, operation: str, message: str) -> None:
        super().__init__(f"{operation}: {code}: {message}" if message else f"{operation}: {code}")
        self.code = code
        self.operation = operation

    @property
    def transient(self) -> bool:
        """Whether trying again later may succeed without anyone changing anything."""
        return (self.code in THROTTLING_CODES or self.code in CAPACITY_CODES or self.code.endswith(QUOTA_SUFFIX)
                or self.code in {"ServiceUnavailable", "InternalError", "Unavailable", "EndpointConnectionError"})


def error_code(exc: BaseException) -> str:
    """AWS's error code of a botocore failure ("" for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    if isinstance(exc, AWSError):
        return exc.code
    return ""


def is_not_found(exc: BaseException) -> bool:
    """Whether the failure says the resource does not exist (`…NotFound`, `…NotFoundException`, `ParameterNotFound`)."""
    code = error_code(exc)
    return "NotFound" in code or code in {"LoadBalancerNotFound", "TargetGroupNotFound"}


def from_botocore(exc: BaseException) -> AWSError:
    """The failure in the provider's terms. Messages from AWS name resources, never credentials."""
    if isinstance(exc, AWSError):
        return exc
    if isinstance(exc, ClientError):
        operation = str(getattr(exc, "operation_name", "") or "AWS")
        return AWSError(error_code(exc), operation, str(exc.response.get("Error", {}).get("Message", "")))
    if isinstance(exc, BotoCoreError):
        return AWSError(type(exc).__name__, "AWS", str(exc))
    return AWSError(type(exc).__name__, "AWS", str(exc))


def ignore_missing(call: Any, **kwargs: Any) -> None:
    """Make a delete call; a resource already gone is what deletion wants."""
    try:
        call(**kwargs)
    except Exception as exc:
        if not is_not_found(exc):
            raise

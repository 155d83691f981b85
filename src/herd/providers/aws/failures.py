"""AWS failures as the SDK reports them: a condition on the object naming AWS's error code, and a retryable error
the SDK backs off from (1 s, 2 s, 4 s, … at most 5 min)."""

from __future__ import annotations

import re

from herd.providersdk import RetryableError

from .services.errors import AWSError, from_botocore


def condition_reason(code: str, fallback: str) -> str:
    """AWS's error code as a condition reason (letters, digits and `_` only), e.g. InvalidVpcID.NotFound →
    InvalidVpcIDNotFound."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "", code)
    return cleaned if cleaned[:1].isalpha() else fallback


def retryable(exc: BaseException, fallback_reason: str) -> tuple[AWSError, RetryableError]:
    """The AWS error and what to raise for it: retried with backoff, its reason the AWS error code."""
    error = from_botocore(exc)
    return error, RetryableError(str(error), reason=condition_reason(error.code, fallback_reason))

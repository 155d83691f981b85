"""Whose credentials a cluster's AWS calls use: the controller's own (boto3's chain), or those in a Secret named by
`spec.identityRef` (kind Secret, in the AWSCluster's namespace, with the keys of CAPA's static identity Secrets:
AccessKeyID, SecretAccessKey, SessionToken). Values are never logged or put in a message."""

from __future__ import annotations

import base64
from typing import Any

from herd.api.objects import nested
from herd.providersdk import PermanentError, RetryableError
from herd.runtime import SECRET, Client, NotFound

CONTROLLER_IDENTITY = "AWSClusterControllerIdentity"
SECRET_KEYS = ("AccessKeyID", "SecretAccessKey", "SessionToken")
INVALID_IDENTITY_REASON = "InvalidIdentity"


async def credentials_for(client: Client, namespace: str, cluster_spec: dict[str, Any] | None) -> dict[str, str] | None:
    """The credentials the AWSCluster's identityRef names (None: the controller's own)."""
    ref = nested(cluster_spec, "identityRef") or {}
    if not ref or ref.get("kind") == CONTROLLER_IDENTITY:
        return None
    name = str(ref.get("name") or "")
    try:
        secret = await client.get(SECRET, name, namespace)
    except NotFound:
        raise RetryableError(f"the identity Secret {namespace}/{name} does not exist",
                             reason=INVALID_IDENTITY_REASON) from None
    data = secret.get("data") or {}
    found = {key: base64.b64decode(data[key]).decode().strip() for key in SECRET_KEYS if data.get(key)}
    if not found.get("AccessKeyID") or not found.get("SecretAccessKey"):
        raise PermanentError(f"the identity Secret {namespace}/{name} needs the keys AccessKeyID and SecretAccessKey",
                             reason=INVALID_IDENTITY_REASON)
    return found

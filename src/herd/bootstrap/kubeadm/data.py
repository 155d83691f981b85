"""Reading what the bootstrap data refers to (Secrets named by `files[].contentFrom` and `users[].passwdFrom`)
and writing the bootstrap data Secret itself: named like the KubeadmConfig, in its namespace, key `value`
(and `format`), type `cluster.x-k8s.io/secret`, controlled by the KubeadmConfig."""

from __future__ import annotations

import base64
import logging
from typing import Any

from herd.api.cluster.labels import CLUSTER_NAME_LABEL, CLUSTER_SECRET_TYPE
from herd.contract.certificates import b64, secret_data
from herd.runtime import SECRET, AlreadyExists, Client, NotFound, Object, owner_reference

from . import status

log = logging.getLogger("herd.bootstrap.kubeadm")

DATA_KEY = "value"
FORMAT_KEY = "format"
CLOUD_CONFIG = "cloud-config"


class SecretReferenceError(Exception):
    """A Secret (or key) that the KubeadmConfig refers to does not exist."""


async def _secret_value(client: Client, namespace: str, name: str, key: str) -> bytes:
    try:
        secret = await client.get(SECRET, name, namespace)
    except NotFound as exc:
        raise SecretReferenceError(f"secret not found: {namespace}/{name}") from exc
    value = secret_data(secret, key)
    if value is None:
        raise SecretReferenceError(f"secret {namespace}/{name} has no key {key!r}")
    return value


async def resolve_files(client: Client, config: Object) -> list[dict[str, Any]]:
    """spec.files with every `contentFrom` replaced by the Secret's content.

    Content that is not text, with no encoding given, is written base64-encoded (cloud-init decodes it).
    """
    namespace = config["metadata"]["namespace"]
    resolved = []
    for spec_file in (config.get("spec") or {}).get("files") or ():
        entry = dict(spec_file)
        source = (entry.pop("contentFrom", None) or {}).get("secret")
        if source:
            raw = await _secret_value(client, namespace, source["name"], source["key"])
            try:
                entry["content"] = raw.decode()
            except UnicodeDecodeError:
                if entry.get("encoding"):
                    raise SecretReferenceError(f"secret {namespace}/{source['name']} key {source['key']!r} is not "
                                               "text") from None
                entry["content"], entry["encoding"] = base64.b64encode(raw).decode(), "b64"
        resolved.append(entry)
    return resolved


async def resolve_users(client: Client, config: Object) -> list[dict[str, Any]]:
    """spec.users with every `passwdFrom` replaced by the password hash from the Secret."""
    namespace = config["metadata"]["namespace"]
    resolved = []
    for spec_user in (config.get("spec") or {}).get("users") or ():
        entry = dict(spec_user)
        source = (entry.pop("passwdFrom", None) or {}).get("secret")
        if source:
            entry["passwd"] = (await _secret_value(client, namespace, source["name"], source["key"])).decode()
        resolved.append(entry)
    return resolved


def bootstrap_data_secret(config: Object, cluster_name: str, data: str) -> Object:
    """The bootstrap data Secret for a KubeadmConfig."""
    meta = config["metadata"]
    return {
        "apiVersion": "v1", "kind": "Secret", "type": CLUSTER_SECRET_TYPE,
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": {CLUSTER_NAME_LABEL: cluster_name},
                     "ownerReferences": [owner_reference(config)]},
        "data": {DATA_KEY: b64(data), FORMAT_KEY: b64(CLOUD_CONFIG)},
    }


async def store_bootstrap_data(client: Client, config: Object, cluster: Object, data: str) -> None:
    """Create (or, when a previous attempt got that far, replace) the data Secret and report it in the status."""
    secret = bootstrap_data_secret(config, cluster["metadata"]["name"], data)
    meta = secret["metadata"]
    try:
        await client.create(secret, kind=SECRET)
    except AlreadyExists:
        # secret creation and the status patch are not atomic: a previous reconcile may have created it
        log.info("bootstrap data secret %s/%s exists already, updating it", meta["namespace"], meta["name"])
        existing = await client.get(SECRET, meta["name"], meta["namespace"])
        secret["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        await client.update(secret, kind=SECRET)
    status.set_data_secret_created(config, meta["name"])

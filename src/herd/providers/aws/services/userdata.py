"""Bootstrap data delivered as CAPA delivers it.

The data (gzipped unless asked not to) is split into chunks stored in Secrets Manager (binary secrets of at most
7,000 bytes, named `<prefix>-<i>`) or in SSM Parameter Store (base64 text in SecureString parameters of at most
4,000 characters, named `<prefix>/<i>`). The instance's user data is then only a MIME document with a boot hook
script that fetches the chunks, deletes them, reassembles and unpacks the data to /etc/secret-userdata.txt, and an
include part that has cloud-init run that file. With `insecureSkipSecretsManager` the data is the user data itself.
"""

from __future__ import annotations

import base64
import email
import email.policy
import gzip
import re
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from . import tags as tagging
from .errors import error_code, ignore_missing
from .scope import AWSScope

SECRETS_MANAGER = "secrets-manager"
SSM = "ssm"
ENTRY_PREFIX = "aws.cluster.x-k8s.io"
SECRET_CHUNK_BYTES = 7000  # below the 10 KiB limit, which applies after base64
PARAMETER_CHUNK_CHARS = 4000  # above this a parameter needs the advanced tier
INCLUDE_PATH = "/etc/secret-userdata.txt"
BOOT_SCRIPT_MARKER = "herd-aws-secret-fetch"

_BOOT_SCRIPT = """#!/bin/bash
# {marker}: fetch this machine's bootstrap data from {service}, then let cloud-init run it.
set -o errexit -o nounset -o pipefail
umask 006
BACKEND="{backend}"
REGION="{region}"
ENDPOINT_ARG="{endpoint_arg}"
PREFIX="{prefix}"
CHUNKS="{chunks}"
FILE="{path}"
if [ -f "$FILE" ]; then exit 0; fi
fetch() {{
  if [ "$BACKEND" = "ssm" ]; then
    aws ssm $ENDPOINT_ARG --region "$REGION" get-parameter --with-decryption --name "$PREFIX/$1" \\
      --query Parameter.Value --output text
  else
    aws secretsmanager $ENDPOINT_ARG --region "$REGION" get-secret-value --secret-id "$PREFIX-$1" \\
      --query SecretBinary --output text | base64 -d
  fi
}}
forget() {{
  if [ "$BACKEND" = "ssm" ]; then
    aws ssm $ENDPOINT_ARG --region "$REGION" delete-parameter --name "$PREFIX/$1"
  else
    aws secretsmanager $ENDPOINT_ARG --region "$REGION" delete-secret --force-delete-without-recovery \\
      --secret-id "$PREFIX-$1"
  fi
}}
for i in $(seq 0 $((CHUNKS - 1))); do
  for attempt in $(seq 1 10); do fetch "$i" >>"$FILE.part" && break || sleep 10; done
done
for i in $(seq 0 $((CHUNKS - 1))); do forget "$i" || true; done
if [ "$BACKEND" = "ssm" ]; then base64 -d "$FILE.part" >"$FILE.gz"; else mv "$FILE.part" "$FILE.gz"; fi
gunzip -f "$FILE.gz" 2>/dev/null || mv "$FILE.gz" "$FILE"
systemctl restart cloud-init
"""


@dataclass(frozen=True)
class StoredData:
    """Where a machine's bootstrap data is kept: the backend, the name prefix and how many chunks."""

    backend: str
    prefix: str
    count: int


def secret_prefix(backend: str, machine_uid: str) -> str:
    """The chunks' name prefix, fixed by the AWSMachine's uid so a retried reconcile writes the same chunks."""
    if backend == SSM:  # SSM names may not start with aws or ssm, and are paths
        return f"/{ENTRY_PREFIX.removeprefix('aws.')}/{machine_uid}"
    return f"{ENTRY_PREFIX}/{machine_uid}"


def compress(data: bytes, uncompressed: bool) -> bytes:
    """The data as stored: gzipped (mtime 0, so the same data gives the same bytes) unless asked not to."""
    return data if uncompressed else gzip.compress(data, mtime=0)


def store(aws: AWSScope, backend: str, prefix: str, data: bytes, machine: str, role: str) -> StoredData:
    """Write the data as chunks (overwriting chunks a failed attempt left), tagged with the cluster and machine."""
    tags = tagging.as_list(aws.tags(role, machine, {tagging.cloud_provider_tag_key(aws.cluster): tagging.OWNED}))
    if backend == SSM:
        text = base64.b64encode(data).decode()
        pieces = [text[i:i + PARAMETER_CHUNK_CHARS] for i in range(0, len(text), PARAMETER_CHUNK_CHARS)]
        for index, piece in enumerate(pieces):
            _put_parameter(aws, f"{prefix}/{index}", piece, tags)
        return StoredData(SSM, prefix, len(pieces))
    chunks = [data[i:i + SECRET_CHUNK_BYTES] for i in range(0, len(data), SECRET_CHUNK_BYTES)]
    for index, chunk in enumerate(chunks):
        _put_secret(aws, f"{prefix}-{index}", chunk, tags)
    return StoredData(SECRETS_MANAGER, prefix, len(chunks))


def _put_secret(aws: AWSScope, name: str, chunk: bytes, tags: list[dict[str, str]]) -> None:
    client = aws.clients.secretsmanager
    try:
        client.create_secret(Name=name, SecretBinary=chunk, Tags=tags)
    except Exception as exc:
        if error_code(exc) != "ResourceExistsException":
            raise
        client.put_secret_value(SecretId=name, SecretBinary=chunk)


def _put_parameter(aws: AWSScope, name: str, value: str, tags: list[dict[str, str]]) -> None:
    client = aws.clients.ssm
    try:
        client.put_parameter(Name=name, Value=value, Type="SecureString", Tags=tags)
    except Exception as exc:
        if error_code(exc) != "ParameterAlreadyExists":
            raise
        client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def boot_user_data(stored: StoredData, region: str, endpoint: str | None) -> bytes:
    """The instance's user data: a MIME document with the fetch script (a cloud-init boot hook) and an include of
    the file it writes."""
    script = _BOOT_SCRIPT.format(
        marker=BOOT_SCRIPT_MARKER, service="SSM Parameter Store" if stored.backend == SSM else "Secrets Manager",
        backend=stored.backend, region=region, endpoint_arg=f"--endpoint-url {endpoint}" if endpoint else "",
        prefix=stored.prefix, chunks=stored.count, path=INCLUDE_PATH)
    document = MIMEMultipart("mixed")
    document.attach(MIMEText(script, "cloud-boothook"))
    document.attach(MIMEText(f"file://{INCLUDE_PATH}\n", "x-include-url"))
    return document.as_bytes(policy=email.policy.SMTP)


def stored_data_of(user_data: bytes) -> StoredData | None:
    """Read the backend, prefix and chunk count back from a boot script's user data (None: plain user data)."""
    if BOOT_SCRIPT_MARKER.encode() not in user_data:
        return None
    message = email.message_from_bytes(user_data)
    for part in message.walk():
        if part.get_content_type() == "text/cloud-boothook":
            script = str(part.get_payload(decode=True).decode())  # type: ignore[union-attr]
            values = dict(re.findall(r'^([A-Z_]+)="([^"]*)"\r?$', script, flags=re.MULTILINE))
            return StoredData(values["BACKEND"], values["PREFIX"], int(values["CHUNKS"]))
    return None


def fetch(aws: AWSScope, stored: StoredData) -> bytes:
    """The chunks put back together, as the boot script would (still gzipped if they were)."""
    if stored.backend == SSM:
        names = [f"{stored.prefix}/{i}" for i in range(stored.count)]
        values = {p["Name"]: p["Value"] for p in _get_parameters(aws, names)}
        return base64.b64decode("".join(values[name] for name in names))
    client = aws.clients.secretsmanager
    return b"".join(client.get_secret_value(SecretId=f"{stored.prefix}-{i}")["SecretBinary"]
                    for i in range(stored.count))


def _get_parameters(aws: AWSScope, names: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(names), 10):  # GetParameters takes ten names at a time
        found += aws.clients.ssm.get_parameters(Names=names[start:start + 10], WithDecryption=True)["Parameters"]
    return found


def unpack(data: bytes) -> bytes:
    """Bootstrap data as cloud-init sees it: gunzipped when gzipped."""
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def delete(aws: AWSScope, stored: StoredData) -> None:
    """Delete the chunks (those already gone are fine)."""
    if stored.backend == SSM:
        names = [f"{stored.prefix}/{i}" for i in range(stored.count)]
        for start in range(0, len(names), 10):
            aws.clients.ssm.delete_parameters(Names=names[start:start + 10])
        return
    for index in range(stored.count):
        ignore_missing(aws.clients.secretsmanager.delete_secret, SecretId=f"{stored.prefix}-{index}",
                       ForceDeleteWithoutRecovery=True)


def delete_all(aws: AWSScope, backend: str, prefix: str) -> None:
    """Delete every chunk whose name starts with `prefix`, however many a failed attempt left."""
    if backend == SSM:
        pages = aws.clients.ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=True)
        names = [p["Name"] for page in pages for p in page["Parameters"]]
        for start in range(0, len(names), 10):
            aws.clients.ssm.delete_parameters(Names=names[start:start + 10])
        return
    found = aws.clients.secretsmanager.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}])["SecretList"]
    for secret in found:
        if secret["Name"].startswith(f"{prefix}-"):
            ignore_missing(aws.clients.secretsmanager.delete_secret, SecretId=secret["Name"],
                           ForceDeleteWithoutRecovery=True)


def boot(aws: AWSScope, user_data: bytes) -> bytes:
    """What the instance's cloud-init ends up running, got as the boot script gets it: the chunks fetched, then
    deleted, then unpacked (plain user data is only unpacked). For simulators that boot instances from it."""
    stored = stored_data_of(user_data)
    if stored is None:
        return unpack(user_data)
    data = fetch(aws, stored)
    delete(aws, stored)
    return unpack(data)

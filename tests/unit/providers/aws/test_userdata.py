"""The user data an AWS instance boots with: CAPA's MIME shape, and chunks that put back together give the data."""

from __future__ import annotations

import gzip

import pytest

from herd.providers.aws.services import userdata


@pytest.mark.parametrize(("backend", "prefix"), [
    ("secrets-manager", "aws.cluster.x-k8s.io/0a1b"),
    ("ssm", "/cluster.x-k8s.io/0a1b"),
])
def test_the_chunk_prefix_follows_capa_and_is_fixed_by_the_machine(backend: str, prefix: str) -> None:
    assert userdata.secret_prefix(backend, "0a1b") == prefix


def test_the_boot_user_data_is_a_mime_boothook_and_include_that_names_where_the_chunks_are() -> None:
    stored = userdata.StoredData("secrets-manager", "aws.cluster.x-k8s.io/u1", 3)
    raw = userdata.boot_user_data(stored, "eu-west-1", "http://127.0.0.1:5000")
    assert raw.startswith(b"Content-Type: multipart/mixed")
    assert b"Content-Type: text/cloud-boothook" in raw and b"Content-Type: text/x-include-url" in raw
    assert b"file:///etc/secret-userdata.txt" in raw
    assert b"--endpoint-url http://127.0.0.1:5000" in raw and b'REGION="eu-west-1"' in raw
    assert userdata.stored_data_of(raw) == stored


def test_plain_user_data_names_no_chunks() -> None:
    assert userdata.stored_data_of(b"#cloud-config\nruncmd: []\n") is None


def test_compression_is_gzip_and_reproducible_and_unpack_undoes_it() -> None:
    data = b"#cloud-config\n" + b"write_files: []\n" * 100
    packed = userdata.compress(data, uncompressed=False)
    assert packed == userdata.compress(data, uncompressed=False) and gzip.decompress(packed) == data
    assert userdata.unpack(packed) == data
    assert userdata.compress(data, uncompressed=True) == data == userdata.unpack(data)

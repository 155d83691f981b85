"""Protobuf request bodies: what kubectl 1.32 really sends for `kubectl create`, decoded to JSON shape."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from herd.apiserver.errors import StatusError
from herd.apiserver.protobuf import SUPPORTED_KINDS, decode_object

# Captured from /usr/bin/kubectl v1.32.4 posting to a recording HTTP server on 127.0.0.1 (--validate=false).
# kubectl create configmap x --from-literal=a=b -n default
KUBECTL_CONFIGMAP = (
    "6b3873000a0f0a0276311209436f6e6669674d617012220a180a017812001a0764656661756c7422002a0032003800420012060a"
    "01611201621a002200"
)
# kubectl create namespace demo
KUBECTL_NAMESPACE = (
    "6b3873000a0f0a02763112094e616d657370616365121c0a140a0464656d6f12001a0022002a0032003800420012001a020a00"
    "1a002200"
)
# kubectl create secret generic tok --type=example.com/token --from-literal=k=v --from-literal=e= \
#   -n kube-system
KUBECTL_SECRET = (
    "6b3873000a0c0a027631120653656372657412420a1e0a03746f6b12001a0b6b7562652d73797374656d22002a003200380042"
    "0012050a0165120012060a016b1201761a116578616d706c652e636f6d2f746f6b656e1a002200"
)
# kubectl create serviceaccount robot -n default
KUBECTL_SERVICEACCOUNT = (
    "6b3873000a140a027631120e536572766963654163636f756e74121e0a1c0a05726f626f7412001a0764656661756c74220"
    "02a003200380042001a002200"
)
# kubectl create configmap cfg --from-literal=a=b --from-file=greeting.txt=<"hello\n">
#   --from-file=raw.bin=<00 ff 01> -n default --save-config
KUBECTL_CONFIGMAP_SAVE_CONFIG = (
    "6b3873000a0f0a0276311209436f6e6669674d617012bf020a8c020a0363666712001a0764656661756c7422002a00320038"
    "00420062ef010a306b75626563746c2e6b756265726e657465732e696f2f6c6173742d6170706c6965642d636f6e66696775"
    "726174696f6e12ba017b226b696e64223a22436f6e6669674d6170222c2261706956657273696f6e223a227631222c226d65"
    "746164617461223a7b226e616d65223a22636667222c226e616d657370616365223a2264656661756c74222c226372656174"
    "696f6e54696d657374616d70223a6e756c6c7d2c2264617461223a7b2261223a2262222c226772656574696e672e74787422"
    "3a2268656c6c6f5c6e227d2c2262696e61727944617461223a7b227261772e62696e223a2241503842227d7d0a12060a0161"
    "12016212160a0c6772656574696e672e747874120668656c6c6f0a1a0e0a077261772e62696e120300ff011a002200"
)
LAST_APPLIED = (
    '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg","namespace":"default",'
    '"creationTimestamp":null},"data":{"a":"b","greeting.txt":"hello\\n"},"binaryData":{"raw.bin":"AP8B"}}\n'
)


@pytest.mark.parametrize(("body", "expected"), [
    (KUBECTL_CONFIGMAP, {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "x", "namespace": "default"}, "data": {"a": "b"}}),
    (KUBECTL_NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"},
                         "spec": {}, "status": {}}),
    (KUBECTL_SECRET, {"apiVersion": "v1", "kind": "Secret",
                      "metadata": {"name": "tok", "namespace": "kube-system"},
                      "data": {"e": "", "k": base64.b64encode(b"v").decode()}, "type": "example.com/token"}),
    (KUBECTL_SERVICEACCOUNT, {"apiVersion": "v1", "kind": "ServiceAccount",
                              "metadata": {"name": "robot", "namespace": "default"}}),
    (KUBECTL_CONFIGMAP_SAVE_CONFIG, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "default",
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": LAST_APPLIED}},
        "data": {"a": "b", "greeting.txt": "hello\n"},
        "binaryData": {"raw.bin": base64.b64encode(b"\x00\xff\x01").decode()}}),
], ids=["configmap", "namespace", "secret-with-type-and-empty-value", "serviceaccount",
        "configmap-with-binary-data-and-last-applied"])
def test_decodes_the_bodies_kubectl_create_sends(body: str, expected: dict[str, Any]) -> None:
    assert decode_object(bytes.fromhex(body)) == expected


# A tiny encoder for hand-made messages: enough to exercise every wire type and field kind.

def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten-byte two's complement
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def ld(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return tag(number, 2) + varint(len(data)) + data


def vi(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def entry(number: int, key: str, value: bytes | str) -> bytes:
    return ld(number, ld(1, key) + ld(2, value))


def envelope(api_version: str, kind: str, raw: bytes, extra: bytes = b"") -> bytes:
    return b"k8s\x00" + ld(1, ld(1, api_version) + ld(2, kind)) + ld(2, raw) + extra


def test_decodes_full_object_meta() -> None:
    owner = ld(5, "apps/v1") + ld(1, "ReplicaSet") + ld(3, "rs") + ld(4, "uid-1") + vi(6, 1) + vi(7, 0)
    managed = (ld(1, "kubectl") + ld(2, "Update") + ld(3, "v1") + ld(4, vi(1, 1700000000))
               + ld(6, "FieldsV1") + ld(7, ld(1, b'{"f:data":{}}')))
    meta = (ld(1, "n") + ld(2, "gen-") + ld(3, "ns") + ld(5, "uid") + ld(6, "42") + vi(7, 3)
            + ld(8, vi(1, 1700000000) + vi(2, 5)) + ld(9, vi(1, 1700000100)) + vi(10, 0)
            + entry(11, "app", "web") + entry(12, "note", "hi") + ld(13, owner) + ld(14, "f/one") + ld(14, "")
            + ld(17, managed))
    decoded = decode_object(envelope("v1", "ConfigMap", ld(1, meta) + tag(4, 0) + varint(1)))
    assert decoded["immutable"] is True
    assert decoded["metadata"] == {
        "name": "n", "generateName": "gen-", "namespace": "ns", "uid": "uid", "resourceVersion": "42",
        "generation": 3, "creationTimestamp": "2023-11-14T22:13:20Z",
        "deletionTimestamp": "2023-11-14T22:15:00Z",
        "deletionGracePeriodSeconds": 0, "labels": {"app": "web"}, "annotations": {"note": "hi"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "uid-1",
                             "controller": True, "blockOwnerDeletion": False}],
        "finalizers": ["f/one", ""],
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                           "time": "2023-11-14T22:13:20Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {}}}],
    }


def test_decodes_secret_string_data_and_immutable_false() -> None:
    raw = ld(1, ld(1, "s")) + entry(4, "plain", "text") + vi(5, 0) + ld(3, "Opaque")
    assert decode_object(envelope("v1", "Secret", raw)) == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"plain": "text"},
        "immutable": False, "type": "Opaque"}


def test_decodes_namespace_status_and_service_account_references() -> None:
    status = ld(1, "Terminating") + ld(2, ld(1, "T") + ld(2, ""))
    ns = ld(1, ld(1, "n")) + ld(2, ld(1, "kubernetes")) + ld(3, status)
    assert decode_object(envelope("v1", "Namespace", ns))["status"] == {
        "phase": "Terminating", "conditions": [{"type": "T", "status": ""}]}
    sa = ld(1, ld(1, "sa")) + ld(2, ld(3, "tok") + ld(2, "")) + ld(3, ld(1, "pull")) + vi(4, 0)
    assert decode_object(envelope("v1", "ServiceAccount", sa)) == {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"},
        "secrets": [{"name": "tok"}],
        "imagePullSecrets": [{"name": "pull"}], "automountServiceAccountToken": False}


def test_skips_unknown_fields_of_every_wire_type() -> None:
    unknown = (vi(90, 7) + tag(91, 1) + b"\x00" * 8 + ld(92, b"junk") + tag(93, 5) + b"\x00" * 4
               + tag(94, 3) + vi(1, 1) + tag(95, 3) + tag(95, 4) + tag(94, 4))
    raw = ld(1, ld(1, "x") + unknown) + unknown + entry(2, "a", "b")
    assert decode_object(envelope("v1", "ConfigMap", raw, extra=ld(9, b"?"))) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}


def test_last_occurrence_of_a_scalar_field_wins() -> None:
    meta = ld(1, "first") + ld(1, "second") + ld(3, "ns") + ld(3, "")
    assert decode_object(envelope("v1", "ConfigMap", ld(1, meta)))["metadata"] == {"name": "second"}


def test_negative_int64_values_decode_as_negative() -> None:
    meta = ld(1, "x") + vi(7, -1)
    assert decode_object(envelope("v1", "ConfigMap", ld(1, meta)))["metadata"]["generation"] == -1


@pytest.mark.parametrize(("body", "code"), [
    (b'{"kind": "ConfigMap"}', 400),
    (b"", 400),
    (b"k8s\x00" + ld(1, ld(1, "v1") + ld(2, "Pod")) + ld(2, b""), 415),
    (b"k8s\x00" + ld(1, ld(1, "apps/v1") + ld(2, "Deployment")), 415),
    (b"k8s\x00" + ld(1, ld(1, "v1")), 400),
    (b"k8s\x00" + ld(1, ld(1, "v1") + ld(2, "ConfigMap")) + ld(3, "gzip"), 415),
    (b"k8s\x00\x0a\x05ab", 400),
    (b"k8s\x00\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 400),
    (b"k8s\x00\x0f", 400),
    (b"k8s\x00" + tag(7, 4), 400),
    (envelope("v1", "ConfigMap", ld(1, vi(1, 5))), 400),
    (envelope("v1", "ConfigMap", ld(1, ld(1, b"\xff\xfe"))), 400),
    (envelope("v1", "ConfigMap", tag(1, 3) + vi(1, 1)), 400),
], ids=["json-not-protobuf", "empty", "unsupported-kind", "unsupported-group", "missing-kind",
        "content-encoding", "truncated-length-delimited", "overlong-varint", "invalid-wire-type",
        "stray-end-group", "wrong-wire-type-for-string", "invalid-utf8", "unterminated-group"])
def test_rejects_bodies_it_cannot_decode(body: bytes, code: int) -> None:
    with pytest.raises(StatusError) as err:
        decode_object(body)
    assert err.value.code == code
    assert err.value.reason == ("UnsupportedMediaType" if code == 415 else "BadRequest")


def test_supported_kinds_cover_what_kubectl_creates_with_protobuf() -> None:
    kubectl_creates = {("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount")}
    assert kubectl_creates <= SUPPORTED_KINDS

"""The real kubectl against `herd serve`: what a user sees when the server refuses a write.

Invalid objects are refused with a message naming the field and leave nothing behind; a write based
on a stale resourceVersion is a conflict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support.plane import ServedPlane

MANIFESTS = Path(__file__).parent / "manifests"


def widget(name: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump({"apiVersion": "example.com/v1", "kind": "Widget",
                           "metadata": {"name": name, "namespace": "default"}, "spec": spec})


@pytest.fixture(scope="module")
def kube(shared_plane: ServedPlane) -> ServedPlane:
    """The shared plane with the Widget CRD applied."""
    shared_plane.kubectl("apply", "-f", str(MANIFESTS / "widgets-crd.yaml"))
    return shared_plane


def assert_not_found(plane: ServedPlane, name: str) -> None:
    missing = plane.kubectl("get", "widget", name, check=False)
    assert missing.returncode == 1
    assert f'Error from server (NotFound): widgets.example.com "{name}" not found' in missing.stderr


@pytest.mark.parametrize("name, spec, message", [
    ("wrong-type", {"size": "small", "replicas": "three"},
     'The Widget "wrong-type" is invalid: spec.replicas: Invalid value: "string": '
     'spec.replicas in body must be of type integer: "string"'),
    ("missing-required", {"color": "red"},
     'The Widget "missing-required" is invalid: spec.size: Required value'),
    ("not-in-enum", {"size": "huge"},
     'The Widget "not-in-enum" is invalid: spec.size: Unsupported value: "huge": '
     'supported values: "small", "medium", "large"'),
    ("below-minimum", {"size": "small", "replicas": -1},
     'The Widget "below-minimum" is invalid: spec.replicas: Invalid value: -1: '
     "spec.replicas in body should be greater than or equal to 0"),
    ("unknown-field", {"size": "small", "shape": "round"},
     'Error from server (BadRequest): error when creating "STDIN": strict decoding error: unknown field "spec.shape"'),
    ("Bad_Name", {"size": "small"},
     'The Widget "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain '
     "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
     "character"),
])
def test_kubectl_apply_of_an_invalid_widget_names_the_field_and_stores_nothing(
        kube: ServedPlane, name: str, spec: dict[str, Any], message: str) -> None:
    refused = kube.kubectl("apply", "-f", "-", input=widget(name, spec), check=False)

    assert refused.returncode == 1
    assert refused.stderr.strip() == message
    assert_not_found(kube, name)


def test_kubectl_patch_with_an_invalid_value_leaves_the_widget_unchanged(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("kept", {"size": "small"}))
    version = kube.kubectl("get", "widget", "kept", "-o", "jsonpath={.metadata.resourceVersion}").stdout

    refused = kube.kubectl("patch", "widget", "kept", "--type", "merge", "-p", '{"spec": {"size": "huge"}}',
                           check=False)

    assert refused.returncode == 1
    assert 'spec.size: Unsupported value: "huge"' in refused.stderr
    assert kube.kubectl("get", "widget", "kept", "-o", "jsonpath={.spec.size} {.metadata.resourceVersion}").stdout \
        == f"small {version}"


@pytest.mark.parametrize("change, message", [
    ({"size": "small", "shape": "round"},
     'error when patching "STDIN": strict decoding error: unknown field "spec.shape"'),
    ({"size": "small", "color": 7},
     'The Widget "reapplied" is invalid: spec.color: Invalid value: "integer": spec.color in body must be of type '
     'string: "integer"'),
])
def test_kubectl_apply_of_an_invalid_change_leaves_the_widget_unchanged(
        kube: ServedPlane, change: dict[str, Any], message: str) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("reapplied", {"size": "small", "color": "blue"}))

    refused = kube.kubectl("apply", "-f", "-", input=widget("reapplied", change), check=False)

    assert refused.returncode == 1
    assert message in refused.stderr
    assert kube.kubectl("get", "widget", "reapplied", "-o", "jsonpath={.spec}").stdout == \
        '{"color":"blue","replicas":1,"size":"small"}'


def test_kubectl_edit_to_an_invalid_value_is_refused(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("edit-refused", {"size": "small"}))

    refused = kube.kubectl("edit", "widget", "edit-refused", check=False,
                           env={"EDITOR": "sed -i 's/size: small/size: huge/'"})

    assert refused.returncode == 1
    assert 'error: widgets.example.com "edit-refused" is invalid' in refused.stderr
    assert kube.kubectl("get", "widget", "edit-refused", "-o", "jsonpath={.spec.size}").stdout == "small"


def test_kubectl_replace_with_a_stale_resource_version_is_a_conflict(kube: ServedPlane, tmp_path: Path) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("stale", {"size": "small"}))
    old = tmp_path / "stale.yaml"
    old.write_text(kube.kubectl("get", "widget", "stale", "-o", "yaml").stdout.replace("size: small", "size: large"))
    kube.kubectl("patch", "widget", "stale", "--type", "merge", "-p", '{"spec": {"color": "red"}}')

    refused = kube.kubectl("replace", "-f", str(old), check=False)

    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f'Error from server (Conflict): error when replacing "{old}": Operation cannot be fulfilled on '
        'widgets.example.com "stale": the object has been modified; please apply your changes to the latest '
        "version and try again")
    assert kube.kubectl("get", "widget", "stale", "-o", "jsonpath={.spec.size} {.spec.color}").stdout == "small red"

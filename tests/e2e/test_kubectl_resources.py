"""The real kubectl against `herd serve`: a CRD and its custom resources, as a user drives them.

One shared plane for the module; the Widget CRD is applied once and every test works on widgets
(or namespaces) of its own, so the tests do not see each other's objects.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.plane import ServedPlane

MANIFESTS = Path(__file__).parent / "manifests"


def widget(name: str, namespace: str = "default", *, labels: dict[str, str] | None = None, **spec: Any) -> str:
    """A Widget manifest as YAML (join several with `---`); `size` defaults to small."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    return yaml.safe_dump({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": metadata,
                           "spec": {"size": "small", **spec}}, sort_keys=False)


def table_rows(stdout: str) -> list[dict[str, str]]:
    """kubectl's column output as one dict per row, cells cut at the header's column offsets."""
    header, *lines = stdout.splitlines()
    starts = [match.start() for match in re.finditer(r"\S+", header)]
    ends: list[int | None] = [*starts[1:], None]
    return [{name: line[start:end].strip() for name, start, end in zip(header.split(), starts, ends, strict=True)}
            for line in lines]


def field(plane: ServedPlane, target: str, jsonpath: str, *extra: str) -> str:
    return plane.kubectl("get", target, *extra, "-o", f"jsonpath={{{jsonpath}}}").stdout


@pytest.fixture(scope="module")
def kube(shared_plane: ServedPlane) -> ServedPlane:
    """The shared plane with the Widget CRD applied the way a user does it: `kubectl apply -f`."""
    applied = shared_plane.kubectl("apply", "-f", str(MANIFESTS / "widgets-crd.yaml"))
    assert applied.stdout.strip() == "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
    return shared_plane


# ---- apply, get, explain, discovery -------------------------------------------------------------------

def test_kubectl_apply_creates_a_custom_resource_then_patches_it(kube: ServedPlane) -> None:
    manifest = (MANIFESTS / "widget.yaml").read_text()

    created = kube.kubectl("apply", "-f", "-", input=manifest)
    assert created.stdout.strip() == "widget.example.com/first created"

    # the second apply is a three-way merge sent as a merge patch (custom resources have no strategic patch)
    changed = kube.kubectl("apply", "-f", "-", "-v=8", input=manifest.replace("color: blue", "color: red"))
    assert "widget.example.com/first configured" in changed.stdout
    assert "application/merge-patch+json" in changed.stderr
    assert field(kube, "widget/first", ".spec.color") == "red"
    assert field(kube, "widget/first", ".metadata.generation") == "2"

    again = kube.kubectl("apply", "-f", "-", input=manifest.replace("color: blue", "color: red"))
    assert again.stdout.strip() == "widget.example.com/first unchanged"


def test_kubectl_get_shows_the_crd_printer_columns(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("columns", size="medium", replicas=2))
    kube.kubectl("patch", "widget", "columns", "--subresource=status", "--type", "merge",
                 "-p", '{"status": {"conditions": [{"type": "Ready", "status": "True"}]}}')

    listed = kube.kubectl("get", "widgets")
    header = listed.stdout.splitlines()[0]
    assert header.split() == ["NAME", "SIZE", "REPLICAS", "READY", "AGE"]
    row = next(r for r in table_rows(listed.stdout) if r["NAME"] == "columns")
    assert {k: v for k, v in row.items() if k != "AGE"} == {
        "NAME": "columns", "SIZE": "medium", "REPLICAS": "2", "READY": "True"}
    assert re.fullmatch(r"\d+s", row["AGE"]), row

    by_short_name = kube.kubectl("get", "wg", "columns")
    assert table_rows(by_short_name.stdout)[0]["SIZE"] == "medium"


def test_kubectl_get_yaml_output_applies_back_without_changing_the_object(kube: ServedPlane,
                                                                          tmp_path: Path) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("round-trip", labels={"app": "trip"}, color="green"))
    kube.kubectl("patch", "widget", "round-trip", "--subresource=status", "--type", "merge",
                 "-p", '{"status": {"replicas": 1}}')
    exported = tmp_path / "round-trip.yaml"
    exported.write_text(kube.kubectl("get", "widget", "round-trip", "-o", "yaml").stdout)
    before = yaml.safe_load(exported.read_text())

    diff = kube.kubectl("diff", "-f", str(exported), check=False)
    assert (diff.returncode, diff.stdout, diff.stderr) == (0, "", "")

    kube.kubectl("apply", "-f", str(exported))
    after = yaml.safe_load(kube.kubectl("get", "widget", "round-trip", "-o", "yaml").stdout)
    for key in ("spec", "status"):
        assert after[key] == before[key]
    for key in ("uid", "generation", "labels", "creationTimestamp"):
        assert after["metadata"][key] == before["metadata"][key]


def test_kubectl_replace_with_its_own_yaml_output_writes_nothing(kube: ServedPlane, tmp_path: Path) -> None:
    kube.kubectl("create", "-f", "-", input=widget("replace-self", replicas=4))
    exported = tmp_path / "replace-self.yaml"
    exported.write_text(kube.kubectl("get", "widget", "replace-self", "-o", "yaml").stdout)
    version = yaml.safe_load(exported.read_text())["metadata"]["resourceVersion"]

    replaced = kube.kubectl("replace", "-f", str(exported))

    assert replaced.stdout.strip() == "widget.example.com/replace-self replaced"
    assert field(kube, "widget/replace-self", ".metadata.resourceVersion") == version


def test_kubectl_list_yaml_output_replaces_and_applies_back(kube: ServedPlane, tmp_path: Path) -> None:
    kube.kubectl("create", "namespace", "listed")
    kube.kubectl("create", "-f", "-", input="---\n".join(widget(n, "listed", color="teal") for n in ("l1", "l2")))
    exported = tmp_path / "widgets.yaml"
    exported.write_text(kube.kubectl("get", "widgets", "-n", "listed", "-o", "yaml").stdout)
    listed = yaml.safe_load(exported.read_text())
    assert listed["kind"] == "List"

    # a `kind: List` is validated by kubectl itself, against the server's OpenAPI v2 document
    replaced = kube.kubectl("replace", "-f", str(exported))
    assert replaced.stdout.splitlines() == ["widget.example.com/l1 replaced", "widget.example.com/l2 replaced"]
    applied = kube.kubectl("apply", "-f", str(exported))
    assert applied.stdout.splitlines() == ["widget.example.com/l1 configured", "widget.example.com/l2 configured"]

    after = yaml.safe_load(kube.kubectl("get", "widgets", "-n", "listed", "-o", "yaml").stdout)
    assert [item["spec"] for item in after["items"]] == [item["spec"] for item in listed["items"]]


def test_kubectl_diff_shows_only_the_changed_field(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("diffed"))

    diff = kube.kubectl("diff", "-f", "-", input=widget("diffed", size="large"), check=False)

    assert diff.returncode == 1, diff.stderr
    changed = [line for line in diff.stdout.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    # generation moves with the spec; nothing else the server manages may appear as a change
    assert sorted(changed) == ["+  generation: 2", "+  size: large", "-  generation: 1", "-  size: small"]
    assert field(kube, "widget/diffed", ".spec.size") == "small"


def test_kubectl_explain_prints_the_schema_descriptions(kube: ServedPlane) -> None:
    explained = kube.kubectl("explain", "widget.spec").stdout

    assert "The desired state of the widget." in explained
    assert re.search(r"size\s+<string> -required-", explained), explained
    assert "How big the widget is, one of small, medium or large." in explained
    assert "How many copies of the widget to keep." in explained
    assert "The paint colour." in explained


def test_kubectl_api_resources_lists_the_custom_resource(kube: ServedPlane) -> None:
    resources = kube.kubectl("api-resources").stdout.splitlines()

    assert resources[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert [line.split() for line in resources if line.startswith("widgets ")] == [
        ["widgets", "wg", "example.com/v1", "true", "Widget"]]


# ---- reading many ------------------------------------------------------------------------------------

def test_kubectl_get_all_namespaces_with_a_label_selector(kube: ServedPlane) -> None:
    for namespace in ("select-a", "select-b"):
        kube.kubectl("create", "namespace", namespace)
    manifests = [widget("one", "select-a", labels={"app": "demo"}), widget("two", "select-b", labels={"app": "demo"}),
                 widget("other", "select-a", labels={"app": "other"})]
    kube.kubectl("apply", "-f", "-", input="\n---\n".join(manifests))

    listed = kube.kubectl("get", "widgets", "-A", "-l", "app=demo")

    rows = [(r["NAMESPACE"], r["NAME"]) for r in table_rows(listed.stdout)]
    assert ("select-a", "one") in rows
    assert ("select-b", "two") in rows
    assert ("select-a", "other") not in rows


def test_kubectl_get_chunk_size_one_pages_through_every_widget(kube: ServedPlane) -> None:
    kube.kubectl("create", "namespace", "pages")
    kube.kubectl("create", "-f", "-", input="\n---\n".join(widget(n, "pages") for n in ("p1", "p2", "p3")))

    listed = kube.kubectl("get", "widgets", "-n", "pages", "--chunk-size=1", "-v=6")

    assert [r["NAME"] for r in table_rows(listed.stdout)] == ["p1", "p2", "p3"]
    requests = [line for line in listed.stderr.splitlines() if "GET" in line and "/namespaces/pages/widgets" in line]
    assert len(requests) == 3
    assert sum("continue=" in line for line in requests) == 2


def test_kubectl_get_output_name(kube: ServedPlane) -> None:
    kube.kubectl("create", "namespace", "named")
    kube.kubectl("create", "-f", "-", input="\n---\n".join(widget(n, "named") for n in ("alpha", "beta")))

    named = kube.kubectl("get", "widgets", "-n", "named", "-o", "name")

    assert named.stdout.splitlines() == ["widget.example.com/alpha", "widget.example.com/beta"]


def test_kubectl_describe_widget_lists_its_events(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("described", color="blue"))
    uid = field(kube, "widget/described", ".metadata.uid")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "described.polished", "namespace": "default"},
        "involvedObject": {"apiVersion": "example.com/v1", "kind": "Widget", "name": "described",
                           "namespace": "default", "uid": uid},
        "reason": "Polished", "message": "the widget was polished", "type": "Normal",
        "source": {"component": "polisher"}, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }
    kube.kubectl("create", "-f", "-", input=json.dumps(event))

    described = kube.kubectl("describe", "widget", "described").stdout

    assert re.search(r"^Name:\s+described$", described, re.MULTILINE), described
    assert re.search(r"^\s+Color:\s+blue$", described, re.MULTILINE), described
    events = described.split("\nEvents:", 1)[1].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    kind, reason, age, source, message = events[3].split(None, 4)
    assert (kind, reason, source, message) == ("Normal", "Polished", "polisher", "the widget was polished")
    assert re.fullmatch(r"\d+s", age), events


# ---- deleting, labelling, dry runs ---------------------------------------------------------------------

def test_kubectl_delete_all_widgets_in_a_namespace(kube: ServedPlane) -> None:
    kube.kubectl("create", "namespace", "sweep")
    kube.kubectl("create", "-f", "-", input="\n---\n".join(widget(n, "sweep") for n in ("s1", "s2", "s3")))

    deleted = kube.kubectl("delete", "widgets", "--all", "-n", "sweep")

    assert deleted.stdout.splitlines() == [f'widget.example.com "{n}" deleted' for n in ("s1", "s2", "s3")]
    after = kube.kubectl("get", "widgets", "-n", "sweep")
    assert (after.stdout, after.stderr.strip()) == ("", "No resources found in sweep namespace.")


def test_kubectl_label_and_annotate_a_custom_resource(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("tagged", labels={"app": "tags"}))

    assert kube.kubectl("label", "widget", "tagged", "tier=gold").stdout.strip() == "widget.example.com/tagged labeled"
    assert kube.kubectl("annotate", "widget", "tagged", "note=hello").stdout.strip() == \
        "widget.example.com/tagged annotated"
    refused = kube.kubectl("label", "widget", "tagged", "tier=silver", check=False)
    assert refused.returncode == 1
    assert "'tier' already has a value (gold), and --overwrite is false" in refused.stderr
    kube.kubectl("label", "widget", "tagged", "tier=silver", "--overwrite")
    kube.kubectl("annotate", "widget", "tagged", "note-")

    assert kube.kubectl("get", "widgets", "-l", "tier=silver", "-o", "name").stdout.split() == [
        "widget.example.com/tagged"]
    assert json.loads(field(kube, "widget/tagged", ".metadata.labels")) == {"app": "tags", "tier": "silver"}
    assert "note" not in field(kube, "widget/tagged", ".metadata.annotations")


def test_kubectl_apply_dry_run_server_stores_nothing(kube: ServedPlane) -> None:
    created = kube.kubectl("apply", "--dry-run=server", "-f", "-", input=widget("dry"))
    assert created.stdout.strip() == "widget.example.com/dry created (server dry run)"
    missing = kube.kubectl("get", "widget", "dry", check=False)
    assert missing.returncode == 1
    assert 'widgets.example.com "dry" not found' in missing.stderr

    kube.kubectl("apply", "-f", "-", input=widget("dry"))
    version = field(kube, "widget/dry", ".metadata.resourceVersion")
    changed = kube.kubectl("apply", "--dry-run=server", "-f", "-", input=widget("dry", size="large"))
    assert changed.stdout.strip() == "widget.example.com/dry configured (server dry run)"
    deleted = kube.kubectl("delete", "widget", "dry", "--dry-run=server")
    assert deleted.stdout.strip() == 'widget.example.com "dry" deleted (server dry run)'

    assert field(kube, "widget/dry", ".spec.size") == "small"
    assert field(kube, "widget/dry", ".metadata.resourceVersion") == version


# ---- subresources, patches and edit --------------------------------------------------------------------

def test_kubectl_scale_sets_spec_replicas_through_the_scale_subresource(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("scaled", labels={"app": "scaled"}))
    kube.kubectl("patch", "widget", "scaled", "--subresource=status", "--type", "merge",
                 "-p", '{"status": {"replicas": 1, "selector": "app=scaled"}}')

    scaled = kube.kubectl("scale", "widget", "scaled", "--replicas=3")

    assert scaled.stdout.strip() == "widget.example.com/scaled scaled"
    assert field(kube, "widget/scaled", ".spec.replicas") == "3"
    assert json.loads(field(kube, "widget/scaled", ".status")) == {"replicas": 1, "selector": "app=scaled"}
    assert field(kube, "widget/scaled", ".spec.replicas", "--subresource=scale") == "3"
    refused = kube.kubectl("scale", "widget", "scaled", "--current-replicas=5", "--replicas=1", check=False)
    assert (refused.returncode, refused.stderr.strip()) == (1, "error: Expected replicas to be 5, was 3")


def test_kubectl_patch_merge_and_json_on_a_custom_resource(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("patched", color="blue"))

    merged = kube.kubectl("patch", "widget", "patched", "--type", "merge", "-p", '{"spec": {"color": "red"}}')
    assert merged.stdout.strip() == "widget.example.com/patched patched"
    assert field(kube, "widget/patched", ".spec.color") == "red"

    kube.kubectl("patch", "widget", "patched", "--type", "json",
                 "-p", '[{"op": "replace", "path": "/spec/size", "value": "medium"},'
                       ' {"op": "remove", "path": "/spec/color"}]')
    assert json.loads(field(kube, "widget/patched", ".spec")) == {"size": "medium", "replicas": 1}

    failed = kube.kubectl("patch", "widget", "patched", "--type", "json",
                          "-p", '[{"op": "test", "path": "/spec/size", "value": "large"}]', check=False)
    assert failed.returncode == 1
    assert field(kube, "widget/patched", ".spec.size") == "medium"


def test_kubectl_patch_status_subresource_changes_only_status(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("status-only"))

    kube.kubectl("patch", "widget", "status-only", "--subresource=status", "--type", "merge",
                 "-p", '{"spec": {"size": "large"}, "status": {"replicas": 2}}')

    assert field(kube, "widget/status-only", ".status.replicas") == "2"
    assert field(kube, "widget/status-only", ".spec.size") == "small"
    assert field(kube, "widget/status-only", ".metadata.generation") == "1"
    # and the main resource ignores status
    kube.kubectl("patch", "widget", "status-only", "--type", "merge", "-p", '{"status": {"replicas": 7}}')
    assert field(kube, "widget/status-only", ".status.replicas") == "2"


def test_kubectl_edit_saves_the_editors_change(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("edited"))

    edited = kube.kubectl("edit", "widget", "edited", env={"EDITOR": "sed -i 's/size: small/size: large/'"})

    assert edited.stdout.strip() == "widget.example.com/edited edited"
    assert field(kube, "widget/edited", ".spec.size") == "large"


def test_kubectl_strategic_patch_on_a_custom_resource_is_refused(kube: ServedPlane) -> None:
    kube.kubectl("apply", "-f", "-", input=widget("no-strategic"))

    refused = kube.kubectl("patch", "widget", "no-strategic", "-p", '{"spec": {"size": "large"}}', check=False)

    assert refused.returncode == 1
    assert "application/strategic-merge-patch+json is not supported by example.com/v1, Kind=Widget" in refused.stderr
    assert field(kube, "widget/no-strategic", ".spec.size") == "small"

"""Label and field selectors: kube's query-string grammar, matching rules and error answers."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.errors import StatusError
from herd.apiserver.selectors import FieldSelector, LabelSelector, object_fields

LABELS = {"app": "web", "tier": "front", "example.com/team": "blue", "count": "5"}


@pytest.mark.parametrize(("selector", "labels", "selected"), [
    ("", LABELS, True),
    ("", None, True),
    ("app=web", LABELS, True),
    ("app==web", LABELS, True),
    ("app=db", LABELS, False),
    ("app!=db", LABELS, True),
    ("missing!=x", LABELS, True),
    ("app in (db,web)", LABELS, True),
    ("app in (db)", LABELS, False),
    ("missing in (x)", LABELS, False),
    ("app notin (web)", LABELS, False),
    ("missing notin (x)", LABELS, True),
    ("app", LABELS, True),
    ("missing", LABELS, False),
    ("!missing", LABELS, True),
    ("!app", LABELS, False),
    ("app=web,tier=front", LABELS, True),
    ("app=web,tier=back", LABELS, False),
    ("example.com/team=blue", LABELS, True),
    ("  app = web ,  tier in ( front , back ) ", LABELS, True),
    ("count>3", LABELS, True),
    ("count<3", LABELS, False),
    ("app>3", LABELS, False),
    ("app=", {"app": ""}, True),
    ("app=", LABELS, False),
    ("app in (x,)", {"app": ""}, True),
    ("app=web", None, False),
], ids=lambda v: repr(v) if isinstance(v, str) else None)
def test_label_selector_matches_like_kube(selector: str, labels: dict[str, str] | None,
                                          selected: bool) -> None:
    assert LabelSelector.parse(selector).matches(labels) is selected


@pytest.mark.parametrize(("selector", "message_part"), [
    ("app in web", "expected: '('"),
    ("app in ()", "values set can't be empty"),
    ("app=web,", "expected: identifier"),
    (",app", "expected: identifier"),
    ("app=a b", "expected: ',' or 'end of string'"),
    ("app=(", "expected: identifier"),
    ("!", "expected: identifier"),
    ("app in (a b)", "expected: ',', ')' or identifier"),
    ("bad key!=x", "found 'key', expected: [!= < = == > in notin]"),
    ("-bad=x", 'Invalid value: "-bad"'),
    ("app=-bad-", 'Invalid value: "-bad-"'),
    ("app=" + "x" * 64, "no more than 63 characters"),
    ("count>x", "must be an integer"),
    ("Example.COM/x=y", "prefix part"),
    ("/x=y", "prefix part must be non-empty"),
], ids=lambda v: repr(v))
def test_label_selector_syntax_errors_are_bad_requests(selector: str, message_part: str) -> None:
    with pytest.raises(StatusError) as err:
        LabelSelector.parse(selector)
    assert (err.value.code, err.value.reason) == (400, "BadRequest")
    assert message_part in err.value.message


@pytest.mark.parametrize(("selector", "canonical"), [
    ("tier=front,app=web", "app=web,tier=front"),
    ("b in (y,x),!a,c", "!a,b in (x,y),c"),
    ("a==1,b!=2,c notin (z)", "a==1,b!=2,c notin (z)"),
    ("", ""),
])
def test_label_selector_prints_canonically(selector: str, canonical: str) -> None:
    assert str(LabelSelector.parse(selector)) == canonical


@pytest.mark.parametrize(("sel", "labels", "selected"), [
    ({}, LABELS, True),
    ({"matchLabels": {"app": "web"}}, LABELS, True),
    ({"matchLabels": {"app": "db"}}, LABELS, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}, LABELS, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, LABELS, False),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, LABELS, True),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, LABELS, False),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]},
     LABELS, False),
])
def test_label_selector_from_metav1_label_selector(sel: dict[str, Any], labels: dict[str, str],
                                                   selected: bool) -> None:
    assert LabelSelector.from_label_selector(sel).matches(labels) is selected


@pytest.mark.parametrize("sel", [
    {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
    {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
    {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
    {"matchLabels": {"bad key": "x"}},
], ids=["unknown-operator", "in-without-values", "exists-with-values", "invalid-key"])
def test_label_selector_from_invalid_metav1_selector_is_a_bad_request(sel: dict[str, Any]) -> None:
    with pytest.raises(StatusError) as err:
        LabelSelector.from_label_selector(sel)
    assert err.value.code == 400


def test_label_selector_empty() -> None:
    assert LabelSelector.parse("").empty()
    assert LabelSelector.from_label_selector({}).empty()
    assert not LabelSelector.parse("a").empty()


# ------------------------------------------------------------------------------------------ field selectors

FIELDS = {"metadata.name": "web-1", "metadata.namespace": "default", "status.phase": "Running",
          "spec.nodeName": ""}


@pytest.mark.parametrize(("selector", "selected"), [
    ("", True),
    ("metadata.name=web-1", True),
    ("metadata.name==web-1", True),
    ("metadata.name=web-2", False),
    ("metadata.name!=web-2", True),
    ("status.phase=Running,metadata.namespace=default", True),
    ("status.phase=Running,metadata.namespace=other", False),
    ("spec.nodeName=", True),
    ("spec.nodeName!=", False),
    ("status.reason=", True),
    (r"metadata.name=a\,b", False),
])
def test_field_selector_matches_like_kube(selector: str, selected: bool) -> None:
    assert FieldSelector.parse(selector).matches(FIELDS) is selected


def test_field_selector_unescapes_values() -> None:
    selector = FieldSelector.parse(r"metadata.name=a\,b\=c\\d")
    assert selector.requirement_value("metadata.name") == "a,b=c\\d"
    assert selector.matches({"metadata.name": "a,b=c\\d"})


@pytest.mark.parametrize(("selector", "field", "value"), [
    ("metadata.name=x", "metadata.name", "x"),
    ("metadata.name==x,status.phase=Running", "metadata.name", "x"),
    ("metadata.name!=x", "metadata.name", None),
    ("status.phase=Running", "metadata.name", None),
])
def test_field_selector_requirement_value_enables_direct_lookup(selector: str, field: str,
                                                                value: str | None) -> None:
    assert FieldSelector.parse(selector).requirement_value(field) == value


@pytest.mark.parametrize(("selector", "message"), [
    ("spec.foo=bar", "field label not supported: spec.foo"),
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("metadata.name=x,oops", "can't understand 'oops'"),
    (r"metadata.name=a\x", "invalid escape sequence"),
])
def test_field_selector_errors_are_bad_requests(selector: str, message: str) -> None:
    with pytest.raises(StatusError) as err:
        FieldSelector.parse(selector, allowed=frozenset({"status.phase"}))
    assert (err.value.code, err.value.reason) == (400, "BadRequest")
    assert message in err.value.message


def test_field_selector_always_allows_name_and_namespace() -> None:
    FieldSelector.parse("metadata.name=a,metadata.namespace=b", allowed=frozenset())


def test_field_selector_without_allowed_set_accepts_any_field() -> None:
    assert FieldSelector.parse("anything.goes=1").matches({"anything.goes": "1"})


def test_object_fields_for_a_namespaced_object() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1", "hostNetwork": True},
           "status": {}}
    assert object_fields(pod, True, ("spec.nodeName", "status.phase", "spec.hostNetwork")) == {
        "metadata.name": "p", "metadata.namespace": "ns", "spec.nodeName": "n1", "status.phase": "",
        "spec.hostNetwork": "true"}


def test_object_fields_for_a_cluster_scoped_object_leave_out_the_namespace() -> None:
    assert object_fields({"metadata": {"name": "n"}}, False) == {"metadata.name": "n"}


def test_object_fields_for_events_read_source_from_the_component() -> None:
    event = {"metadata": {"name": "e", "namespace": "ns"}, "reason": "Started", "type": "Normal",
             "source": {"component": "kubelet", "host": "n1"},
             "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns", "uid": "u1"}}
    extra = ("involvedObject.kind", "involvedObject.uid", "involvedObject.name", "involvedObject.namespace",
             "reason", "type", "source")
    fields = object_fields(event, True, extra)
    assert fields["source"] == "kubelet"
    assert fields["involvedObject.uid"] == "u1"
    assert FieldSelector.parse("involvedObject.kind=Pod,reason=Started,source=kubelet").matches(fields)

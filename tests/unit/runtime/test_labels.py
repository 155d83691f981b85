"""Label selectors match labels as Kubernetes does, in string and LabelSelector forms."""

from __future__ import annotations

import pytest

from herd.runtime.labels import Selector, as_selector

LABELS = {"app": "web", "tier": "front", "cluster.x-k8s.io/cluster-name": "c1"}


@pytest.mark.parametrize(("selector", "matches"), [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app=db", False),
    ("app!=db", True),
    ("missing!=x", True),
    ("app", True),
    ("!app", False),
    ("!missing", True),
    ("app in (web, db)", True),
    ("app notin (web,db)", False),
    ("missing notin (a)", True),
    ("missing in (a)", False),
    ("app=web,tier=front", True),
    ("app=web,tier=back", False),
    ("cluster.x-k8s.io/cluster-name=c1, tier in (front)", True),
])
def test_string_selectors(selector: str, matches: bool) -> None:
    assert Selector.parse(selector).matches(LABELS) is matches


@pytest.mark.parametrize("bad", ["app=web,", "a b", "app in (x", "=x", "app in x"])
def test_bad_selectors_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Selector.parse(bad)


@pytest.mark.parametrize(("label_selector", "matches"), [
    (None, True),
    ({}, True),
    ({"matchLabels": {"app": "web"}}, True),
    ({"matchLabels": {"app": "db"}}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, False),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
    ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, True),
])
def test_label_selector_objects(label_selector: dict[str, object] | None, matches: bool) -> None:
    assert Selector.from_label_selector(label_selector).matches(LABELS) is matches


def test_selectors_print_back_in_string_form() -> None:
    text = "app=web,tier!=back,env in (a,b),!legacy,owner"
    assert str(Selector.parse(text)) == text
    assert Selector.parse(str(Selector.from_labels({"b": "2", "a": "1"}))).matches({"a": "1", "b": "2"})


def test_as_selector_accepts_strings_maps_and_none() -> None:
    assert as_selector(None).empty
    assert as_selector({"app": "web"}).matches(LABELS)
    assert not as_selector("app=db").matches(LABELS)
    selector = Selector.parse("app")
    assert as_selector(selector) is selector


def test_an_object_selector_is_parsed_once_and_equal_ones_share_the_result() -> None:
    first = Selector.from_label_selector({"matchLabels": {"app": "web"},
                                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]})
    again = Selector.from_label_selector({"matchLabels": {"app": "web"},
                                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]})
    other = Selector.from_label_selector({"matchLabels": {"app": "web"},
                                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b"]}]})
    assert again is first
    assert other is not first
    assert first.matches({"app": "web", "tier": "a"}) and not other.matches({"app": "web", "tier": "a"})

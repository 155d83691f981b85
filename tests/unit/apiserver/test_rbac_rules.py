"""RBAC matching by tables: the verb and resource a request asks for, whether a rule grants it, whether a set of
rules covers another (escalation), and aggregation of ClusterRoles."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.authz.aggregation import aggregated_rules
from herd.apiserver.authz.escalation import uncovered
from herd.apiserver.authz.rules import Attributes, Rule, compile_rules, non_resource_attributes, resource_attributes
from herd.apiserver.routing import ResourcePath, parse_path


def attrs(method: str, path: str, **query: str) -> Attributes:
    parsed = parse_path(path)
    assert isinstance(parsed, ResourcePath)
    return resource_attributes(method, query, parsed)


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/a/pods/p", {}, ("get", "", "pods", "", "a", "p")),
    ("GET", "/api/v1/namespaces/a/pods", {}, ("list", "", "pods", "", "a", "")),
    ("GET", "/api/v1/pods", {"watch": "true"}, ("watch", "", "pods", "", "", "")),
    ("GET", "/api/v1/namespaces/a/pods", {"watch": "1", "fieldSelector": "metadata.name=p"},
     ("watch", "", "pods", "", "a", "p")),
    ("POST", "/apis/cluster.x-k8s.io/v1beta2/namespaces/a/machines", {},
     ("create", "cluster.x-k8s.io", "machines", "", "a", "")),
    ("PUT", "/apis/cluster.x-k8s.io/v1beta2/namespaces/a/machines/m/status", {},
     ("update", "cluster.x-k8s.io", "machines", "status", "a", "m")),
    ("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale", {},
     ("patch", "apps", "deployments", "scale", "a", "d")),
    ("DELETE", "/api/v1/namespaces/a/configmaps", {}, ("deletecollection", "", "configmaps", "", "a", "")),
    ("DELETE", "/api/v1/namespaces/a/configmaps/c", {}, ("delete", "", "configmaps", "", "a", "c")),
    ("GET", "/api/v1/namespaces/a", {}, ("get", "", "namespaces", "", "a", "a")),
    ("POST", "/api/v1/namespaces/a/pods/p/eviction", {}, ("create", "", "pods", "eviction", "a", "p")),
])
def test_request_attributes(method: str, path: str, query: dict[str, str], expected: tuple[str, ...]) -> None:
    got = attrs(method, path, **query)
    assert (got.verb, got.api_group, got.resource, got.subresource, got.namespace, got.name) == expected


def rule(**fields: Any) -> Rule:
    return Rule.from_dict(fields)


GET_PODS = Attributes("get", True, "", "pods", "", "a", "p")


@pytest.mark.parametrize(("granted", "request_", "allowed"), [
    (rule(verbs=["get"], apiGroups=[""], resources=["pods"]), GET_PODS, True),
    (rule(verbs=["*"], apiGroups=["*"], resources=["*"]), GET_PODS, True),
    (rule(verbs=["list"], apiGroups=[""], resources=["pods"]), GET_PODS, False),
    (rule(verbs=["get"], apiGroups=["apps"], resources=["pods"]), GET_PODS, False),
    (rule(verbs=["get"], apiGroups=[""], resources=["pods"], resourceNames=["p"]), GET_PODS, True),
    (rule(verbs=["get"], apiGroups=[""], resources=["pods"], resourceNames=["q"]), GET_PODS, False),
    (rule(verbs=["create"], apiGroups=[""], resources=["pods"], resourceNames=["p"]),
     Attributes("create", True, "", "pods", "", "a"), False),
    (rule(verbs=["get"], apiGroups=[""], resources=["pods"]), Attributes("get", True, "", "pods", "log", "a", "p"),
     False),
    (rule(verbs=["get"], apiGroups=[""], resources=["pods/log"]),
     Attributes("get", True, "", "pods", "log", "a", "p"), True),
    (rule(verbs=["get"], apiGroups=[""], resources=["*/log"]), Attributes("get", True, "", "pods", "log", "a", "p"),
     True),
    (rule(verbs=["get"], apiGroups=[""], resources=["*/log"]), GET_PODS, False),
    (rule(verbs=["get"], nonResourceURLs=["/apis/*"]), non_resource_attributes("GET", "/apis/apps/v1"), True),
    (rule(verbs=["get"], nonResourceURLs=["/apis"]), non_resource_attributes("GET", "/apis/apps/v1"), False),
    (rule(verbs=["get"], nonResourceURLs=["*"]), non_resource_attributes("GET", "/metrics"), True),
    (rule(verbs=["get"], nonResourceURLs=["/healthz"]), non_resource_attributes("POST", "/healthz"), False),
    (rule(verbs=["get"], apiGroups=["*"], resources=["*"]), non_resource_attributes("GET", "/healthz"), False),
])
def test_a_rule_grants_what_it_names(granted: Rule, request_: Attributes, allowed: bool) -> None:
    assert granted.allows(request_) is allowed


@pytest.mark.parametrize(("owned", "requested", "missing"), [
    ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
     [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}], []),
    ([{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"]}],
     [{"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["secrets"]}],
     [{"verbs": ["delete"], "apiGroups": [""], "resources": ["secrets"]}]),
    ([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"]}],
     [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}],
     [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]),
    ([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}],
     [{"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]}],
     [{"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]}]),
    ([{"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}], [{"verbs": ["get"], "nonResourceURLs": ["/apis/x"]}], []),
])
def test_escalation_finds_what_is_not_held(owned: list[dict[str, Any]], requested: list[dict[str, Any]],
                                           missing: list[dict[str, Any]]) -> None:
    assert [r.to_dict() for r in uncovered(list(compile_rules(owned)), compile_rules(requested))] == \
        [Rule.from_dict(m).to_dict() for m in missing]


def cluster_role(name: str, labels: dict[str, str], rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "rules": rules, **extra}


def test_an_aggregated_role_unites_the_rules_of_matching_roles_once_each() -> None:
    read = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    write = {"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}
    aggregate = cluster_role("agg", {}, [write], aggregationRule={"clusterRoleSelectors": [
        {"matchLabels": {"to-agg": "true"}}]})
    roles = [aggregate, cluster_role("b", {"to-agg": "true"}, [read]), cluster_role("a", {"to-agg": "true"},
                                                                                     [read, write]),
             cluster_role("other", {}, [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}])]
    assert aggregated_rules(aggregate, roles) == [read, write]  # name order, duplicates dropped, own rules replaced
    assert aggregated_rules(roles[1], roles) is None

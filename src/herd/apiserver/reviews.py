"""The review APIs: `SelfSubjectReview` (`kubectl auth whoami`), `SelfSubjectAccessReview` (`kubectl auth can-i`),
`SelfSubjectRulesReview` (`kubectl auth can-i --list`) and `SubjectAccessReview` (the same question about anyone).

All are create-only and never stored: a POST answers with the object sent, its `status` filled in by the server's
authorizer for the caller (or, for a SubjectAccessReview, for the user in its spec), as kube-apiserver does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from . import errors
from .auth import UserInfo
from .authz.authorizer import Authorizer
from .authz.rules import Attributes
from .codec import decode_body, json_response
from .resources import ResourceType


def _review(group: str, kind: str) -> ResourceType:
    plural = kind.lower() + "s"
    return ResourceType(group=group, version="v1", kind=kind, plural=plural, singular=kind.lower(),
                        namespaced=False, verbs=("create",), storage_version="v1")


SELF_SUBJECT_REVIEWS = _review("authentication.k8s.io", "SelfSubjectReview")
SELF_SUBJECT_ACCESS_REVIEWS = _review("authorization.k8s.io", "SelfSubjectAccessReview")
SELF_SUBJECT_RULES_REVIEWS = _review("authorization.k8s.io", "SelfSubjectRulesReview")
SUBJECT_ACCESS_REVIEWS = _review("authorization.k8s.io", "SubjectAccessReview")
REVIEW_TYPES: tuple[ResourceType, ...] = (SELF_SUBJECT_REVIEWS, SELF_SUBJECT_ACCESS_REVIEWS, SELF_SUBJECT_RULES_REVIEWS,
                                          SUBJECT_ACCESS_REVIEWS)
_ATTRIBUTE_FIELDS = ("resourceAttributes", "nonResourceAttributes")


def is_review(rtype: ResourceType) -> bool:
    # by identity: `in` would compare the type of every request field by field with each review type
    return any(rtype is review for review in REVIEW_TYPES)


def user_info(user: UserInfo) -> dict[str, Any]:
    """`UserInfo` as the authentication.k8s.io/v1 `UserInfo` object (empty fields left out, as kube's JSON)."""
    out: dict[str, Any] = {"username": user.name}
    if user.uid:
        out["uid"] = user.uid
    if user.groups:
        out["groups"] = list(user.groups)
    if user.extra:
        out["extra"] = {key: list(values) for key, values in user.extra}
    return out


def _text(spec: dict[str, Any], key: str) -> str:
    value = spec.get(key)
    return value if isinstance(value, str) else ""


def review_attributes(rtype: ResourceType, spec: Any) -> Attributes:
    """The request an access review asks about; 422 unless exactly one kind of attributes is given."""
    given = [f for f in _ATTRIBUTE_FIELDS if isinstance(spec, dict) and isinstance(spec.get(f), dict)]
    if len(given) != 1:
        raise errors.invalid(rtype.group, rtype.kind, "", [errors.Cause(
            "FieldValueRequired",
            "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
            "spec.resourceAttributes")])
    attributes = spec[given[0]]
    if given[0] == "nonResourceAttributes":
        return Attributes(_text(attributes, "verb"), False, path=_text(attributes, "path"))
    return Attributes(_text(attributes, "verb"), True, _text(attributes, "group"), _text(attributes, "resource"),
                      _text(attributes, "subresource"), _text(attributes, "namespace"), _text(attributes, "name"))


def _subject(rtype: ResourceType, spec: dict[str, Any]) -> UserInfo:
    """The user a SubjectAccessReview asks about."""
    groups: list[Any] = spec["groups"] if isinstance(spec.get("groups"), list) else []
    if not _text(spec, "user") and not groups:
        raise errors.invalid(rtype.group, rtype.kind, "", [errors.Cause(
            "FieldValueInvalid", 'Invalid value: "": at least one of user or group must be specified', "spec.user")])
    extra: dict[str, Any] = spec["extra"] if isinstance(spec.get("extra"), dict) else {}
    return UserInfo(_text(spec, "user"), _text(spec, "uid"), tuple(str(g) for g in groups),
                    tuple((str(k), tuple(str(v) for v in values)) for k, values in sorted(extra.items())
                          if isinstance(values, list)))


def _rules_status(authorizer: Authorizer, user: UserInfo, namespace: str) -> dict[str, Any]:
    resource_rules: list[dict[str, Any]] = []
    non_resource_rules: list[dict[str, Any]] = []
    for rule in authorizer.rules(user, namespace):
        (non_resource_rules if rule.non_resource_urls else resource_rules).append(rule.to_dict())
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}


def _access_status(authorizer: Authorizer, user: UserInfo, attrs: Attributes) -> dict[str, Any]:
    decision = authorizer.decide(user, attrs)
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return status


async def serve_review(request: web.BaseRequest, rtype: ResourceType, name: str, subresource: str,
                       user: UserInfo | None, authorizer: Authorizer) -> web.Response:
    """Answer a POST to a review collection with 201 and the review's status; other verbs are 405."""
    if request.method != "POST" or name or subresource:
        raise errors.method_not_allowed(f"{request.method} is not supported on {rtype.plural}")
    if user is None:  # the server refuses anonymous requests before this; kept so a review never names nobody
        raise errors.unauthorized()
    body = decode_body(await request.read(), request.headers.get("Content-Type"))
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body of a {rtype.kind} must be an object")
    kind = body.get("kind")
    if kind not in (None, "", rtype.kind) or body.get("apiVersion") not in (None, "", rtype.api_version):
        raise errors.bad_request(
            f"the body of the request was in an unknown format: expected {rtype.api_version} {rtype.kind}, "
            f"got {body.get('apiVersion')} {kind}")
    sent_metadata = body.get("metadata")
    metadata: dict[str, Any] = sent_metadata if isinstance(sent_metadata, dict) else {}
    answer: dict[str, Any] = {
        "kind": rtype.kind, "apiVersion": rtype.api_version,
        "metadata": {**metadata, "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }
    spec = body.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if rtype is SELF_SUBJECT_REVIEWS:
        answer["status"] = {"userInfo": user_info(user)}
        return json_response(answer, status=201)
    answer["spec"] = spec
    if rtype is SELF_SUBJECT_RULES_REVIEWS:
        answer["status"] = _rules_status(authorizer, user, _text(spec, "namespace"))
    elif rtype is SUBJECT_ACCESS_REVIEWS:
        answer["status"] = _access_status(authorizer, _subject(rtype, spec), review_attributes(rtype, spec))
    else:
        answer["status"] = _access_status(authorizer, user, review_attributes(rtype, spec))
    return json_response(answer, status=201)

"""The review APIs: `SelfSubjectReview` (`kubectl auth whoami`), `SelfSubjectAccessReview` (`kubectl auth can-i`) and
`SelfSubjectRulesReview` (`kubectl auth can-i --list`).

All three are create-only and never stored: a POST answers with the object sent, its `status` filled in from the
caller's identity, as kube-apiserver does. herd has no authorizer yet, so an access review allows whatever an
authenticated user asks about and says why in `status.reason`; a rules review lists every verb on everything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from . import errors
from .auth import UserInfo
from .codec import decode_body, json_response
from .resources import ResourceType

NO_AUTHORIZER_REASON = "no authorizer: every authenticated user may do everything"

SELF_SUBJECT_REVIEWS = ResourceType(
    group="authentication.k8s.io", version="v1", kind="SelfSubjectReview", plural="selfsubjectreviews",
    singular="selfsubjectreview", namespaced=False, verbs=("create",), storage_version="v1")
SELF_SUBJECT_ACCESS_REVIEWS = ResourceType(
    group="authorization.k8s.io", version="v1", kind="SelfSubjectAccessReview", plural="selfsubjectaccessreviews",
    singular="selfsubjectaccessreview", namespaced=False, verbs=("create",), storage_version="v1")
SELF_SUBJECT_RULES_REVIEWS = ResourceType(
    group="authorization.k8s.io", version="v1", kind="SelfSubjectRulesReview", plural="selfsubjectrulesreviews",
    singular="selfsubjectrulesreview", namespaced=False, verbs=("create",), storage_version="v1")
REVIEW_TYPES: tuple[ResourceType, ...] = (SELF_SUBJECT_REVIEWS, SELF_SUBJECT_ACCESS_REVIEWS, SELF_SUBJECT_RULES_REVIEWS)
# What a rules review lists while there is no authorizer: every verb on everything.
EVERYTHING_RULES = {
    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
    "incomplete": False,
}


def is_review(rtype: ResourceType) -> bool:
    return rtype in REVIEW_TYPES


def user_info(user: UserInfo) -> dict[str, Any]:
    """`UserInfo` as the authentication.k8s.io/v1 `UserInfo` object (empty fields left out, as kube's JSON)."""
    out: dict[str, Any] = {"username": user.name}
    if user.uid:
        out["uid"] = user.uid
    if user.groups:
        out["groups"] = list(user.groups)
    return out


async def serve_review(request: web.BaseRequest, rtype: ResourceType, name: str, subresource: str,
                       user: UserInfo | None) -> web.Response:
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
    if rtype is SELF_SUBJECT_REVIEWS:
        answer["status"] = {"userInfo": user_info(user)}
    elif rtype is SELF_SUBJECT_RULES_REVIEWS:
        spec = body.get("spec")
        answer["spec"] = spec if isinstance(spec, dict) else {}
        answer["status"] = {**EVERYTHING_RULES, "evaluationError": NO_AUTHORIZER_REASON}
    else:
        spec = body.get("spec")
        attributes = ("resourceAttributes", "nonResourceAttributes")
        if not isinstance(spec, dict) or not any(isinstance(spec.get(a), dict) for a in attributes):
            raise errors.invalid(rtype.group, rtype.kind, "", [errors.Cause(
                "FieldValueRequired",
                "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
                "spec.resourceAttributes")])
        answer["spec"] = spec
        answer["status"] = {"allowed": True, "reason": NO_AUTHORIZER_REASON}
    return json_response(answer, status=201)

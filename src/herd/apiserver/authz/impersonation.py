"""Impersonation headers (`kubectl --as`, `--as-group`, `--as-uid`), as kube-apiserver's impersonation filter.

`Impersonate-User` names the user to act as; `Impersonate-Group` (repeatable), `Impersonate-Uid` and
`Impersonate-Extra-<key>` (repeatable) complete it, and need `Impersonate-User`. The requester must be allowed
the `impersonate` verb on each: `users` or, for a `system:serviceaccount:<ns>:<name>` user, that
`serviceaccounts` object; `groups`; `uids` and `userextras/<key>` in authentication.k8s.io. The request then
runs as the impersonated user, with `system:authenticated` added (and a service account's groups when no group
is given), as kube does.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from multidict import CIMultiDictProxy

from .. import errors
from ..auth import SYSTEM_AUTHENTICATED, UserInfo
from .authorizer import Authorizer, forbidden
from .index import SERVICE_ACCOUNT_PREFIX
from .rules import Attributes

USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "impersonate-extra-"
ANONYMOUS = "system:anonymous"
UNAUTHENTICATED = "system:unauthenticated"


def wants_impersonation(headers: Mapping[str, str]) -> bool:
    """Whether the request impersonates: three lookups, as this runs for every request (scanning every header name
    would cost it a microsecond). `Impersonate-Extra-*` headers alone, without a user, are therefore ignored
    rather than refused as kube refuses them; they cannot grant anything either way."""
    return USER_HEADER in headers or GROUP_HEADER in headers or UID_HEADER in headers


def _check(authorizer: Authorizer, requester: UserInfo, attrs: Attributes) -> None:
    if not authorizer.authorize(requester, attrs):
        raise forbidden(requester, attrs)


def impersonate(headers: CIMultiDictProxy[str], requester: UserInfo, authorizer: Authorizer) -> UserInfo:
    """The user the request acts as; 403 when the requester may not impersonate it, 400 for malformed headers."""
    name = headers.get(USER_HEADER, "")
    groups = headers.getall(GROUP_HEADER, [])
    uid = headers.get(UID_HEADER, "")
    extra: dict[str, list[str]] = {}
    for key, value in headers.items():
        if key.lower().startswith(EXTRA_PREFIX):
            extra.setdefault(unquote(key[len(EXTRA_PREFIX):]).lower(), []).append(value)
    if not name:
        raise errors.bad_request(f"requested impersonation of groups, a uid or extra fields without impersonating "
                                 f"a user: {USER_HEADER} is required")
    impersonate_verb = "impersonate"
    if name.startswith(SERVICE_ACCOUNT_PREFIX) and name.count(":") == 3:
        namespace, sa_name = name[len(SERVICE_ACCOUNT_PREFIX):].split(":")
        _check(authorizer, requester, Attributes(impersonate_verb, True, "", "serviceaccounts", "", namespace,
                                                 sa_name))
        default_groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    else:
        _check(authorizer, requester, Attributes(impersonate_verb, True, "", "users", "", "", name))
        default_groups = []
    for group in groups:
        _check(authorizer, requester, Attributes(impersonate_verb, True, "", "groups", "", "", group))
    if uid:
        _check(authorizer, requester, Attributes(impersonate_verb, True, "authentication.k8s.io", "uids", "", "",
                                                 uid))
    for key, values in extra.items():
        for value in values:
            _check(authorizer, requester, Attributes(impersonate_verb, True, "authentication.k8s.io", "userextras",
                                                     key, "", value))
    final_groups = list(groups) or default_groups
    if name == ANONYMOUS:
        if UNAUTHENTICATED not in final_groups:
            final_groups.append(UNAUTHENTICATED)
    elif SYSTEM_AUTHENTICATED not in final_groups and UNAUTHENTICATED not in final_groups:
        final_groups.append(SYSTEM_AUTHENTICATED)
    return UserInfo(name, uid, tuple(dict.fromkeys(final_groups)),
                    tuple((key, tuple(values)) for key, values in sorted(extra.items())))

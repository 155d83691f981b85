"""Dynamic admission control: the webhooks registered by Mutating/ValidatingWebhookConfiguration objects.

`WebhookAdmission` is the server's `Admission`. On every write it reads the configurations from the store
(re-parsed only when one of them changed), calls the matching mutating webhooks one after another (each sees
the previous one's patch), then the matching validating webhooks concurrently, like kube-apiserver.

Differences from kube-apiserver, all deliberate:
- `matchPolicy: Equivalent` is treated as `Exact` (no conversion between versions of a resource here).
- `reinvocationPolicy: IfNeeded` is treated as `Never`.
- CEL `matchConditions` cannot be evaluated; a webhook that has them is handled as kube handles a condition
  that fails to evaluate: skipped under `failurePolicy: Ignore`, 403 Forbidden under `Fail`.
- `warnings` from webhooks are logged, not returned to the client (`Admission` has no way to hand them back).
- PATCH requests are reported to webhooks as UPDATE with UpdateOptions (kube sends PatchOptions).
- A mutating webhook is also consulted on DELETE (kube does this too) but a patch it returns is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import jsonpatch
import jsonpointer

from .. import errors
from ..auth import UserInfo
from ..builtins import MUTATING_WEBHOOKS, NAMESPACES, VALIDATING_WEBHOOKS
from ..errors import Cause, StatusError
from ..schema.defaulting import deep_copy_json
from ..storage.store import Store
from .base import AdmissionAttributes
from .webhook_client import JSON_PATCH, REVIEW_API_VERSION, REVIEW_KIND, ReviewResult, WebhookCallError, WebhookClient
from .webhook_config import apply_defaults, configuration_causes
from .webhook_rules import (
    SIDE_EFFECT_FREE,
    Webhook,
    is_exempt,
    labels_of,
    namespace_selected,
    object_selected,
    parse_configuration,
    request_namespace,
    rules_match,
)

log = logging.getLogger(__name__)

# Writes the server makes on its own behalf (initial namespaces, finalizer cleanup) carry no user; kube's
# loopback client is this identity.
_SERVER_USER = UserInfo("system:apiserver", groups=("system:authenticated", "system:masters"))
_SYSTEM_FIELDS = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")
_OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}

_Signature = tuple[tuple[str, int], ...]


class WebhookAdmission:
    """Admission by webhooks, configured through the API like in Kubernetes."""

    def __init__(self, store: Store, client: WebhookClient | None = None) -> None:
        self.store = store
        self.client = client or WebhookClient()
        self._parsed: dict[bool, tuple[_Signature, list[Webhook]]] = {}

    # ---- the Admission protocol -------------------------------------------------------------------------
    async def mutate(self, attrs: AdmissionAttributes) -> dict[str, Any] | None:
        """Run the matching mutating webhooks in order and return the object as they patched it."""
        if is_exempt(attrs.rtype):
            if attrs.obj is not None and attrs.rtype in (MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS):
                apply_defaults(attrs.obj, mutating=attrs.rtype is MUTATING_WEBHOOKS)
            return attrs.obj
        current = attrs.obj
        for hook in self.webhooks(mutating=True):
            if not self._should_call(hook, attrs, current):
                continue
            result = await self._call(hook, attrs, current)
            if result is not None and result.patch and current is not None:
                current = _apply_patch(hook, attrs, current, result.patch)
        return current

    async def validate(self, attrs: AdmissionAttributes) -> None:
        """Run the matching validating webhooks concurrently; the first refusal (in order) fails the request."""
        if is_exempt(attrs.rtype):
            self._validate_configuration(attrs)
            return
        if attrs.operation == "DELETE":
            # The write pipeline runs `mutate` only for objects being stored; on DELETE kube still consults
            # mutating webhooks (which may refuse), so they are called here, before the validating ones.
            await self.mutate(attrs)
        hooks = [h for h in self.webhooks(mutating=False) if self._should_call(h, attrs, attrs.obj)]
        results = await asyncio.gather(*(self._call(h, attrs, attrs.obj) for h in hooks), return_exceptions=True)
        for outcome in results:
            if isinstance(outcome, BaseException):
                raise outcome

    # ---- lifetime ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        """A background task for the server's lifetime: when cancelled, it closes the webhook connections."""
        try:
            await asyncio.get_running_loop().create_future()  # never resolves: wait for cancellation
        finally:
            await self.close()

    async def close(self) -> None:
        """Close pooled webhook connections."""
        await self.client.close()

    # ---- configuration ----------------------------------------------------------------------------------
    def webhooks(self, mutating: bool) -> list[Webhook]:
        """All webhooks of one kind, configurations sorted by name, each configuration's webhooks in order.

        Parsed configurations are reused until one of them changes: listing is an in-memory scan and
        comparing (key, revision) pairs is far cheaper than parsing selectors and URLs on every write.
        """
        rtype = MUTATING_WEBHOOKS if mutating else VALIDATING_WEBHOOKS
        records, _ = self.store.list(rtype.storage_prefix)
        signature = tuple((r.key, r.revision) for r in records)
        cached = self._parsed.get(mutating)
        if cached is not None and cached[0] == signature:
            return cached[1]
        # Keys are "<prefix>/<name>", so the store's key order is kube's order: by configuration name.
        hooks = [hook for r in records for hook in parse_configuration(r.value, mutating)]
        self._parsed[mutating] = (signature, hooks)
        return hooks

    def _validate_configuration(self, attrs: AdmissionAttributes) -> None:
        if attrs.obj is None or attrs.operation not in ("CREATE", "UPDATE"):
            return
        if attrs.rtype not in (MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS):
            return
        causes = configuration_causes(attrs.obj, mutating=attrs.rtype is MUTATING_WEBHOOKS)
        if causes:
            raise errors.invalid(attrs.rtype.group, attrs.rtype.kind, attrs.name, causes)

    def _namespace_labels(self, name: str) -> dict[str, str] | None:
        record = self.store.get(NAMESPACES.key("", name))
        return None if record is None else labels_of(record.value)

    # ---- calling ----------------------------------------------------------------------------------------
    def _should_call(self, hook: Webhook, attrs: AdmissionAttributes, obj: dict[str, Any] | None) -> bool:
        if not rules_match(hook, attrs):
            return False
        if not namespace_selected(hook, attrs, obj, self._namespace_labels):
            return False
        if not object_selected(hook, obj, attrs.old):
            return False
        if hook.match_conditions:
            if hook.fails_open:
                return False
            log.warning("webhook %s has matchConditions, which this server cannot evaluate; failing closed",
                        hook.name)
            raise errors.forbidden(
                f'{attrs.rtype.group_resource} "{attrs.name}" is forbidden: webhook "{hook.name}": '
                "matchConditions (CEL) cannot be evaluated by this server")
        return True

    async def _call(self, hook: Webhook, attrs: AdmissionAttributes,
                    obj: dict[str, Any] | None) -> ReviewResult | None:
        """Call one webhook; None when it failed and its failurePolicy ignores that."""
        if attrs.dry_run and hook.side_effects not in SIDE_EFFECT_FREE:
            raise errors.bad_request(f'admission webhook "{hook.name}" does not support dry run')
        try:
            if hook.problem:
                raise WebhookCallError(hook.problem)
            result = await self.client.review(hook, admission_review(attrs, obj))
            if not result.allowed:
                raise denied(hook.name, result.status)
            if result.patch and result.patch_type != JSON_PATCH:
                raise WebhookCallError(f'unsupported patch type "{result.patch_type[:50]}"')
        except WebhookCallError as exc:
            message = f'failed calling webhook "{hook.name}": {exc}'
            if hook.fails_open:
                log.warning("failed calling webhook, failing open %s: %s", hook.name, message)
                return None
            log.warning("failed calling webhook, failing closed %s: %s", hook.name, message)
            raise errors.internal(f"Internal error occurred: {message}") from None
        for warning in result.warnings:
            log.info("admission webhook %s warns: %s", hook.name, warning[:500])
        return result


def admission_review(attrs: AdmissionAttributes, obj: dict[str, Any] | None) -> dict[str, Any]:
    """The AdmissionReview request a webhook receives for `attrs` (with `obj` as the object so far)."""
    rtype = attrs.rtype
    user = attrs.user or _SERVER_USER
    user_info: dict[str, Any] = {"username": user.name}
    if user.uid:
        user_info["uid"] = user.uid
    if user.groups:
        user_info["groups"] = list(user.groups)
    kind = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
    resource = {"group": rtype.group, "version": rtype.version, "resource": rtype.plural}
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()), "kind": kind, "resource": resource, "requestKind": kind,
        "requestResource": resource, "operation": attrs.operation, "userInfo": user_info,
        "object": obj, "oldObject": attrs.old, "dryRun": attrs.dry_run,
    }
    if attrs.subresource:
        request["subResource"] = request["requestSubResource"] = attrs.subresource
    if attrs.name:
        request["name"] = attrs.name
    namespace = request_namespace(attrs)
    if namespace:
        request["namespace"] = namespace
    options_kind = _OPTIONS_KIND.get(attrs.operation)
    if options_kind:
        options: dict[str, Any] = {**attrs.options, "kind": options_kind, "apiVersion": "meta.k8s.io/v1"}
        if attrs.dry_run:
            options["dryRun"] = ["All"]
        request["options"] = options
    return {"apiVersion": REVIEW_API_VERSION, "kind": REVIEW_KIND, "request": request}


def denied(webhook: str, status: dict[str, Any] | None) -> StatusError:
    """The error for a webhook's `allowed: false`: its own Status, prefixed as kube-apiserver does."""
    status = status or {}
    code = status.get("code")
    # A refusal is never a success: codes below 400 (or nonsense) become 400, as in kube.
    if not isinstance(code, int) or isinstance(code, bool) or not 400 <= code <= 599:
        code = 400
    prefix = f'admission webhook "{webhook}" denied the request'
    message, reason = str(status.get("message") or ""), str(status.get("reason") or "")
    text = f"{prefix}: {message}" if message else f"{prefix}: {reason}" if reason else f"{prefix} without explanation"
    raw_details = status.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    causes = [Cause(str(c.get("reason") or ""), str(c.get("message") or ""), str(c.get("field") or ""))
              for c in details.get("causes") or [] if isinstance(c, dict)]
    retry = details.get("retryAfterSeconds")
    return StatusError(code, reason, text, name=str(details.get("name") or ""), group=str(details.get("group") or ""),
                       kind=str(details.get("kind") or ""), causes=causes,
                       retry_after_seconds=retry if isinstance(retry, int) and not isinstance(retry, bool) else 0)


def _apply_patch(hook: Webhook, attrs: AdmissionAttributes, obj: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """Apply a webhook's JSON patch. A patch that cannot be applied fails the request whatever the policy."""
    failed = f'Internal error occurred: the JSON patch from admission webhook "{hook.name}"'
    try:
        # applied to a copy made here: jsonpatch's own (copy.deepcopy) costs several times as much
        patched = jsonpatch.JsonPatch.from_string(raw.decode("utf-8")).apply(deep_copy_json(obj), in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, UnicodeDecodeError,
            TypeError, ValueError, KeyError, IndexError, AttributeError):
        # No library message: a failed `test` op quotes object values, which may be Secret data.
        raise errors.internal(f"{failed} cannot be applied") from None
    if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
        raise errors.internal(f"{failed} did not produce an object with metadata")
    for key in ("apiVersion", "kind"):
        if patched.get(key) != obj.get(key):
            raise errors.internal(f"{failed} changed {key}, which webhooks may not do")
    meta, before = patched["metadata"], obj.get("metadata") or {}
    if meta.get("namespace") != before.get("namespace"):
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                 "request")
    if attrs.operation == "UPDATE" and meta.get("name") != before.get("name"):
        raise errors.invalid(attrs.rtype.group, attrs.rtype.kind, attrs.name, [Cause(
            "FieldValueInvalid", f'Invalid value: "{meta.get("name")}": field is immutable', "metadata.name")])
    # System fields belong to the server: kube-apiserver fills them in after admission, so a webhook's
    # change to them never sticks.
    for key in _SYSTEM_FIELDS:
        if key in before:
            meta[key] = before[key]
        else:
            meta.pop(key, None)
    return patched

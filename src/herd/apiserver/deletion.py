"""Deletion: preconditions, finalizers, propagation policies and namespace termination."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import errors
from .admission.base import AdmissionAttributes
from .builtins import CRDS, INITIAL_NAMESPACES, NAMESPACES
from .codec import decode_body, query_bool
from .objectmeta import now_rfc3339
from .objects import Objects, WriteOptions, has_generation, served
from .resources import ResourceType
from .storage.base import KeyNotFoundError, RevisionConflictError
from .typed_decode import check_delete_options

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
_POLICIES = ("Background", "Foreground", "Orphan")


async def delete_options(request: web.BaseRequest) -> dict[str, Any]:
    """DeleteOptions from the body and query, decoded and validated as kube-apiserver does (400, 422)."""
    raw = await request.read()
    decoded = decode_body(raw, request.headers.get("Content-Type")) if raw else None
    options = dict(check_delete_options(decoded)) if decoded is not None else {}
    query = request.query
    if "propagationPolicy" in query:
        options["propagationPolicy"] = query["propagationPolicy"]
    if "orphanDependents" in query:
        options["orphanDependents"] = query_bool(query, "orphanDependents")
    if "gracePeriodSeconds" in query:
        try:
            options["gracePeriodSeconds"] = int(query["gracePeriodSeconds"])
        except ValueError:
            raise errors.bad_request(f'gracePeriodSeconds: invalid value "{query["gracePeriodSeconds"]}": '
                                     "must be an integer") from None
    if options.get("orphanDependents") is not None and options.get("propagationPolicy") is not None:
        raise errors.invalid("meta.k8s.io", "DeleteOptions", "", [errors.Cause(
            "FieldValueInvalid",
            f'Invalid value: "{options["propagationPolicy"]}": orphanDependents and deletionPropagation cannot be '
            "both set", "propagationPolicy")])
    propagation_policy(options)  # refuses an unsupported policy before anything is looked up
    return options


def propagation_policy(options: dict[str, Any]) -> str:
    """The effective propagation policy of DeleteOptions (Background when unset)."""
    policy = options.get("propagationPolicy")
    if policy is None:
        orphan = options.get("orphanDependents")
        return "Orphan" if orphan is True else "Background"
    if policy not in _POLICIES:
        raise errors.invalid("meta.k8s.io", "DeleteOptions", "", [errors.Cause(
            "FieldValueNotSupported",
            f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"',
            "propagationPolicy")])
    return str(policy)


async def delete_object(objects: Objects, rtype: ResourceType, namespace: str, name: str,
                        options: dict[str, Any], opts: WriteOptions) -> tuple[dict[str, Any], bool]:
    """Delete one object as kube-apiserver does.

    Returns the object and whether it is gone now (False: it waits for finalizers, with
    deletionTimestamp set).
    """
    policy = propagation_policy(options)
    if rtype is NAMESPACES and name in INITIAL_NAMESPACES:
        # NamespaceLifecycle admission: the namespaces the server itself creates stay
        raise errors.StatusError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be '
                                 "deleted", name=name, kind="namespaces")
    key = rtype.key(namespace, name)
    for _ in range(20):
        rec = objects.store.get(key)
        if rec is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        current = rec.value
        meta = current.get("metadata", {})
        _check_preconditions(rtype, name, meta, options.get("preconditions") or {})
        attrs = AdmissionAttributes("DELETE", rtype, namespace, name, None, served(rtype, current), opts.user,
                                    dry_run=opts.dry_run, options=options)
        await objects.admission.validate(attrs)
        finalizers = list(meta.get("finalizers") or [])
        if policy == "Foreground" and FOREGROUND not in finalizers and not meta.get("deletionTimestamp"):
            finalizers.append(FOREGROUND)
        if policy == "Orphan" and ORPHAN not in finalizers and not meta.get("deletionTimestamp"):
            finalizers.append(ORPHAN)
        pending_namespace = rtype is NAMESPACES and bool((current.get("spec") or {}).get("finalizers"))
        if not finalizers and not pending_namespace:
            if opts.dry_run:
                return served(rtype, current), True
            try:
                deleted = await objects.store.delete(key, expected_revision=rec.revision)
            except RevisionConflictError:
                continue
            except KeyNotFoundError:
                raise errors.not_found(rtype.group, rtype.plural, name) from None
            if rtype is CRDS:
                objects.on_crd_written(deleted.value, True)
            return served(rtype, deleted.value), True
        if meta.get("deletionTimestamp") and finalizers == list(meta.get("finalizers") or []):
            return served(rtype, current), False
        updated = dict(current)
        new_meta = dict(meta)
        updated["metadata"] = new_meta
        new_meta["finalizers"] = finalizers
        if not meta.get("deletionTimestamp"):
            new_meta["deletionTimestamp"] = now_rfc3339()
            new_meta["deletionGracePeriodSeconds"] = 0
            if has_generation(rtype):
                new_meta["generation"] = int(meta.get("generation") or 0) + 1
        if rtype is NAMESPACES:
            updated["status"] = {**(current.get("status") or {}), "phase": "Terminating"}
        if opts.dry_run:
            return served(rtype, updated), False
        try:
            stored = await objects.store.update(key, updated, expected_revision=rec.revision)
        except RevisionConflictError:
            continue
        if rtype is CRDS:
            objects.on_crd_written(stored.value, False)
        return served(rtype, stored.value), False
    raise errors.conflict(rtype.group, rtype.plural, name, "too many concurrent writers; try again")


def _check_preconditions(rtype: ResourceType, name: str, meta: dict[str, Any],
                         preconditions: dict[str, Any]) -> None:
    uid = preconditions.get("uid")
    if uid and uid != meta.get("uid"):
        raise errors.conflict(rtype.group, rtype.plural, name,
                              f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                              f"{meta.get('uid')}")
    rv = preconditions.get("resourceVersion")
    if rv and str(rv) != str(meta.get("resourceVersion")):
        raise errors.conflict(rtype.group, rtype.plural, name,
                              f"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in "
                              f"object meta: {meta.get('resourceVersion')}")


async def remove_finalizer(objects: Objects, rtype: ResourceType, namespace: str, name: str,
                           finalizer: str) -> None:
    """Drop one finalizer (the object goes once none is left); a missing object is fine."""

    def drop(obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != finalizer]
        return obj

    try:
        await objects.guaranteed_update(rtype, namespace, name, drop, WriteOptions())
    except errors.StatusError as exc:
        if exc.code != 404:
            raise

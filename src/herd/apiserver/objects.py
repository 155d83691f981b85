"""Object semantics independent of HTTP: create, read, update, patch and the write pipeline.

Every write runs the same pipeline as kube-apiserver: decode → prune/default → kind rules →
mutating admission → validation → validating admission → compare-and-swap in storage.
Deletion (finalizers, propagation) lives in `deletion.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .admission.base import Admission, AdmissionAttributes, NoAdmission
from .apply.conflicts import conflict_error
from .apply.fieldsets import scope_for
from .apply.managed import ApplyConflicts, Writer, manager_from_user_agent, record_apply, record_update
from .apply.shapes import shape_for
from .auth import UserInfo
from .bodies import check_object_size
from .builtins import CRDS, NAMESPACES, prepare_builtin_create, prepare_builtin_update
from .crds import CLEANUP_FINALIZER, crd_status, name_conflicts
from .errors import Cause, StatusError
from .jsonutil import clone, dumps
from .objectmeta import (
    OBJECT_META_FIELDS,
    check_resource_version,
    generated_name,
    metadata_causes,
    name_problem,
    new_uid,
    now_rfc3339,
)
from .registry import Registry
from .resources import ResourceType
from .schema import apply_defaults, default_crd, prune, validate, validate_crd
from .storage.base import KeyExistsError, KeyNotFoundError, Record, RevisionConflictError
from .storage.store import Store
from .typed_decode import check_builtin

_SERVER_MANAGED = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                   "deletionGracePeriodSeconds", "generation", "selfLink")
# Built-ins whose objects carry metadata.generation (core/v1 config kinds do not).
_GENERATION_BUILTINS = frozenset({"customresourcedefinitions", "mutatingwebhookconfigurations",
                                  "validatingwebhookconfigurations", "poddisruptionbudgets", "deployments",
                                  "daemonsets"})
_UPDATE_RETRIES = 20


@dataclass
class WriteOptions:
    """Per-request write options from the query string."""

    dry_run: bool = False
    field_validation: str = "Strict"
    field_manager: str = ""
    user: UserInfo | None = None
    # the request's User-Agent (names the field manager when fieldManager is not given); None in-process
    user_agent: str | None = None
    apply: ApplyIntent | None = None


@dataclass(frozen=True)
class ApplyIntent:
    """A server-side apply: the configuration applied, and whether it takes fields from other managers."""

    config: dict[str, Any]
    force: bool = False


# the manager of writes the server makes itself (garbage collection, namespace cleanup)
INTERNAL_MANAGER = "herd-apiserver"


def manager_of(opts: WriteOptions) -> str:
    """The field manager a write is recorded under: `fieldManager`, else derived from the User-Agent."""
    if opts.field_manager:
        return opts.field_manager
    if opts.user_agent is None:
        return INTERNAL_MANAGER
    return manager_from_user_agent(opts.user_agent)


@dataclass
class WriteResult:
    obj: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    created: bool = False


def has_generation(rtype: ResourceType) -> bool:
    return not rtype.builtin or rtype.plural in _GENERATION_BUILTINS


def served(rtype: ResourceType, value: dict[str, Any]) -> dict[str, Any]:
    """The stored object as the requested version shows it (conversion strategy None, or the type's own
    `extra["from_storage"]`: events.k8s.io/v1 Events are core/v1 ones converted)."""
    from_storage = rtype.extra.get("from_storage")
    if from_storage is not None:
        return dict(from_storage(value))
    if value.get("apiVersion") == rtype.api_version:
        return value
    shown = dict(value)
    shown["apiVersion"] = rtype.api_version
    return shown


def spec_changed(rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether anything counted by `generation` changed: all but metadata (and status, if a subresource)."""
    skip = {"metadata", "apiVersion", "kind"}
    if rtype.status_subresource:
        skip.add("status")
    keys = (set(old) | set(new)) - skip
    return any(old.get(k) != new.get(k) for k in keys)


class Objects:
    """The object store as clients see it, bound to a registry, storage and admission."""

    def __init__(self, store: Store, registry: Registry, admission: Admission | None = None) -> None:
        self.store = store
        self.registry = registry
        self.admission: Admission = admission or NoAdmission()
        # set by CRDLifecycle: (crd, deleted) after every stored CRD change, so types are served at once
        self.on_crd_written: Callable[[dict[str, Any], bool], None] = lambda crd, deleted: None

    # ---- reads -------------------------------------------------------------------------------
    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        rec = self.store.get(rtype.key(namespace, name))
        if rec is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        return served(rtype, rec.value)

    def get_record(self, rtype: ResourceType, namespace: str, name: str) -> Record:
        rec = self.store.get(rtype.key(namespace, name))
        if rec is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        return rec

    # ---- create ------------------------------------------------------------------------------
    async def create(self, rtype: ResourceType, namespace: str, obj: dict[str, Any],
                     opts: WriteOptions) -> WriteResult:
        """Store a new object; answers the stored object as the client's version shows it."""
        warnings: list[str] = []
        meta = self._check_envelope(rtype, namespace, obj)
        if rtype.namespaced:
            meta["namespace"] = namespace
            self._require_namespace(namespace, rtype)
        else:
            meta.pop("namespace", None)
        self.handle_unknown_fields(rtype, obj, opts, warnings)
        for key in _SERVER_MANAGED:
            meta.pop(key, None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generated_name(str(meta["generateName"]))
        name = str(meta.get("name") or "")
        if not rtype.builtin and rtype.status_subresource:
            obj.pop("status", None)
        causes = prepare_builtin_create(rtype, obj) if rtype.builtin else []
        if rtype is CRDS:
            default_crd(obj)
        elif not rtype.builtin and rtype.schema:
            apply_defaults(obj, rtype.schema)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now_rfc3339()
        if has_generation(rtype):
            meta["generation"] = 1
        obj = self._track_fields(rtype, None, obj, opts, "")
        if rtype is CRDS:
            obj["metadata"].setdefault("finalizers", [])
            if CLEANUP_FINALIZER not in obj["metadata"]["finalizers"]:
                obj["metadata"]["finalizers"].append(CLEANUP_FINALIZER)
        attrs = AdmissionAttributes("CREATE", rtype, namespace if rtype.namespaced else "", name, obj, None,
                                    opts.user, dry_run=opts.dry_run)
        obj = await self._mutate(attrs, opts, warnings)
        meta = obj["metadata"]
        name = str(meta.get("name") or "")
        causes += self._validate(rtype, obj, name)
        if causes:
            raise errors.invalid(rtype.group, rtype.kind, name, causes)
        if rtype is CRDS:
            obj["status"] = crd_status(obj, name_conflicts(obj, self._crds()), terminating=False)
        await self.admission.validate(attrs)
        obj["apiVersion"] = self._storage_api_version(rtype)
        if opts.dry_run:
            if self.store.get(rtype.key(namespace, name)) is not None:
                raise errors.already_exists(rtype.group, rtype.plural, name)
            return WriteResult(served(rtype, obj), warnings, created=True)
        check_object_size(len(dumps(obj)))
        try:
            rec = await self.store.create(rtype.key(namespace, name), obj)
        except KeyExistsError:
            raise errors.already_exists(rtype.group, rtype.plural, name) from None
        if rtype is CRDS:
            self.on_crd_written(rec.value, False)
        return WriteResult(served(rtype, rec.value), warnings, created=True)

    # ---- update / patch ------------------------------------------------------------------------
    async def update(self, rtype: ResourceType, namespace: str, name: str, obj: dict[str, Any],
                     opts: WriteOptions, subresource: str = "") -> WriteResult:
        """Replace an object (PUT). The body's resourceVersion, when given, must be current."""
        warnings: list[str] = []
        meta = self._check_envelope(rtype, namespace, obj)
        if meta.get("name") != name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name') or ''}) does not match the name on the URL ({name})")
        rv = str(meta.get("resourceVersion") or "")
        uid = meta.get("uid")
        if not rv and not rtype.builtin:
            raise errors.invalid(rtype.group, rtype.kind, name, [Cause(
                "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update",
                "metadata.resourceVersion")])
        self.handle_unknown_fields(rtype, obj, opts, warnings, subresource)
        body = obj

        def replace(old: dict[str, Any]) -> dict[str, Any]:
            current_uid = old["metadata"].get("uid")
            if uid and uid != current_uid:  # the body's uid is a precondition, as kube-apiserver makes it
                raise errors.conflict(rtype.group, rtype.plural, name, f"Precondition failed: UID in precondition: "
                                      f"{uid}, UID in object meta: {current_uid}")
            return clone(body)

        return await self.guaranteed_update(rtype, namespace, name, replace, opts, subresource,
                                            precondition_rv=rv, warnings=warnings)

    async def guaranteed_update(
        self, rtype: ResourceType, namespace: str, name: str,
        compute: Callable[[dict[str, Any]], dict[str, Any]], opts: WriteOptions, subresource: str = "",
        precondition_rv: str = "", warnings: list[str] | None = None,
    ) -> WriteResult:
        """Read-compute-write with compare-and-swap, retrying when another writer got in between.

        `compute` gets a private copy of the current object (as the client's version shows it) and
        returns the desired object; a `precondition_rv` mismatch is a 409, as for a PUT.
        """
        warnings = warnings if warnings is not None else []
        key = rtype.key(namespace, name)
        check_resource_version(precondition_rv)
        for _ in range(_UPDATE_RETRIES):
            rec = self.store.get(key)
            if rec is None:
                raise errors.not_found(rtype.group, rtype.plural, name)
            if precondition_rv and precondition_rv != str(rec.revision):
                raise errors.stale_conflict(rtype.group, rtype.plural, name)
            old = served(rtype, rec.value)
            prepared = await self._prepare_update(rtype, namespace, name, old, compute(clone(old)), opts,
                                                  subresource, warnings)
            if prepared is None:  # nothing changed: kube-apiserver does not write no-op updates
                return WriteResult(old, warnings)
            new = prepared
            if opts.dry_run:  # as kube: nothing is written, so the answer keeps the current resourceVersion
                new["metadata"]["resourceVersion"] = str(rec.revision)
                return WriteResult(served(rtype, new), warnings)
            try:
                if self._finalized(rtype, new):
                    deleted = await self.store.delete(key, expected_revision=rec.revision)
                    if rtype is CRDS:
                        self.on_crd_written(deleted.value, True)
                    return WriteResult(served(rtype, deleted.value), warnings)
                check_object_size(len(dumps(new)))
                stored = await self.store.update(key, new, expected_revision=rec.revision)
            except RevisionConflictError:
                if precondition_rv:
                    raise errors.stale_conflict(rtype.group, rtype.plural, name) from None
                continue
            except KeyNotFoundError:
                raise errors.not_found(rtype.group, rtype.plural, name) from None
            if rtype is CRDS:
                self.on_crd_written(stored.value, False)
            return WriteResult(served(rtype, stored.value), warnings)
        raise errors.conflict(rtype.group, rtype.plural, name, "too many concurrent writers; try again")

    async def _prepare_update(
        self, rtype: ResourceType, namespace: str, name: str, old: dict[str, Any], new: dict[str, Any],
        opts: WriteOptions, subresource: str, warnings: list[str],
    ) -> dict[str, Any] | None:
        if not isinstance(new.get("metadata"), dict):
            new["metadata"] = {}
        new["apiVersion"] = rtype.api_version
        new["kind"] = rtype.kind
        if subresource == "status" and (rtype.status_subresource or rtype.builtin):
            status = new.get("status")
            new = clone(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif rtype.status_subresource and "status" in old:
            new["status"] = old["status"]
        elif rtype.status_subresource:
            new.pop("status", None)
        meta = new["metadata"]
        old_meta = old["metadata"]
        causes: list[Cause] = []
        if meta.get("uid") and meta["uid"] != old_meta.get("uid"):
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{meta["uid"]}": field is immutable',
                                "metadata.uid"))
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                    "generation", "namespace", "name"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta.pop("resourceVersion", None)
        meta.pop("selfLink", None)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                causes.append(Cause("FieldValueForbidden",
                                    "Forbidden: no new finalizers can be added if the object is being deleted",
                                    "metadata.finalizers"))
        if rtype.builtin and subresource not in ("status", "finalize"):  # /finalize writes spec.finalizers
            causes += prepare_builtin_update(rtype, new, old)
        if rtype is CRDS:
            default_crd(new)
        elif not rtype.builtin and rtype.schema:
            apply_defaults(new, rtype.schema)
        new = self._track_fields(rtype, old, new, opts, subresource)
        attrs = AdmissionAttributes("UPDATE", rtype, namespace, name, new, old, opts.user,
                                    subresource=subresource, dry_run=opts.dry_run)
        new = await self._mutate(attrs, opts, warnings)
        meta = new["metadata"]
        # after mutating admission, so a webhook's change to the spec counts too
        if has_generation(rtype) and spec_changed(rtype, old, new):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        causes += self._validate(rtype, new, name, old)
        if causes:
            raise errors.invalid(rtype.group, rtype.kind, name, causes)
        if rtype is CRDS:
            new["status"] = crd_status(new, name_conflicts(new, self._crds()),
                                       terminating=bool(meta.get("deletionTimestamp")))
        await self.admission.validate(attrs)
        comparable = dict(old)
        comparable["metadata"] = {k: v for k, v in old_meta.items() if k != "resourceVersion"}
        if comparable == new or _only_managed_times_differ(comparable, new):
            return None
        new["apiVersion"] = self._storage_api_version(rtype)
        return new

    # ---- shared pieces ---------------------------------------------------------------------------
    @staticmethod
    def _track_fields(rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], opts: WriteOptions,
                      subresource: str) -> dict[str, Any]:
        """`new` with its managedFields kept (and, for an apply, the fields the applier dropped removed)."""
        root = shape_for(rtype.kind, rtype.builtin, rtype.schema)
        writer = Writer(manager_of(opts), rtype.api_version, subresource, now_rfc3339())
        scope = scope_for(subresource, rtype.status_subresource)
        if opts.apply is None:
            record_update(old, new, root, writer, scope)
            return new
        try:
            return record_apply(old, new, opts.apply.config, root, writer, scope, opts.apply.force)
        except ApplyConflicts as exc:
            raise conflict_error(exc.conflicts) from None

    def _check_envelope(self, rtype: ResourceType, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise errors.bad_request("the request body must be a JSON or YAML object")
        kind = obj.get("kind")
        api_version = obj.get("apiVersion")
        if kind and kind != rtype.kind:
            raise errors.bad_request(
                f"the kind of the object ({kind}) does not match the resource ({rtype.kind})")
        if api_version and api_version != rtype.api_version and not (
            rtype.builtin is False and str(api_version).split("/")[0] == rtype.group
        ):
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rtype.api_version})")
        obj["kind"] = rtype.kind
        obj["apiVersion"] = rtype.api_version
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        body_ns = meta.get("namespace")
        if rtype.namespaced and body_ns and body_ns != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request")
        return meta

    def handle_unknown_fields(self, rtype: ResourceType, obj: dict[str, Any], opts: WriteOptions,
                               warnings: list[str], subresource: str = "") -> None:
        """Decode checks of a written body: Go types of built-ins (400), then unknown fields per fieldValidation."""
        top_level = check_builtin(rtype, obj) if rtype.builtin else []
        if subresource == "status":
            return
        for key in top_level:
            del obj[key]
        meta = obj.get("metadata")
        unknown: list[str] = []
        if isinstance(meta, dict):  # an apply configuration may carry `metadata: null`
            unknown = [f"metadata.{k}" for k in meta if k not in OBJECT_META_FIELDS]
            for path in unknown:
                del meta[path.split(".", 1)[1]]
        unknown = top_level + unknown
        if not rtype.builtin and rtype.schema:
            unknown += prune(obj, rtype.schema)
        if not unknown or opts.field_validation == "Ignore":
            return
        messages = [f'unknown field "{path}"' for path in unknown]
        if opts.field_validation == "Strict":
            raise errors.bad_request("strict decoding error: " + ", ".join(messages),
                                     [Cause("FieldValueInvalid", m, p) for m, p in zip(messages, unknown,
                                                                                      strict=True)])
        warnings.extend(messages)

    def _validate(self, rtype: ResourceType, obj: dict[str, Any], name: str,
                  old: dict[str, Any] | None = None) -> list[Cause]:
        meta = obj["metadata"]
        causes = []
        problem = name_problem(name, dns_label=rtype is NAMESPACES,
                               path_segment=rtype.group == "rbac.authorization.k8s.io")
        if problem:
            causes.append(Cause("FieldValueRequired" if not name else "FieldValueInvalid",
                                f'Invalid value: "{name}": {problem}' if name else "Required value: " + problem,
                                "metadata.name"))
        causes += metadata_causes(meta)
        if rtype is CRDS:
            causes += validate_crd(obj)
        elif not rtype.builtin and rtype.schema:
            causes += validate(obj, rtype.schema, old)
        return causes

    async def _mutate(self, attrs: AdmissionAttributes, opts: WriteOptions,
                      warnings: list[str]) -> dict[str, Any]:
        assert attrs.obj is not None
        before = attrs.obj
        mutated = await self.admission.mutate(attrs)
        if mutated is None or mutated is before:
            return before
        rtype = attrs.rtype
        if not rtype.builtin and rtype.schema:
            prune(mutated, rtype.schema)
            apply_defaults(mutated, rtype.schema)
        attrs.obj = mutated
        return mutated

    def _require_namespace(self, namespace: str, rtype: ResourceType) -> None:
        if not namespace:
            raise errors.bad_request("a namespace is required for namespaced resources")
        rec = self.store.get(NAMESPACES.key("", namespace))
        if rec is None:
            raise errors.not_found("", "namespaces", namespace)
        if rec.value.get("metadata", {}).get("deletionTimestamp"):
            raise errors.forbidden(
                f'{rtype.plural} is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated")

    def _storage_api_version(self, rtype: ResourceType) -> str:
        if "storage_api_version" in rtype.extra:  # stored as another group's kind (events.k8s.io → core)
            return str(rtype.extra["storage_api_version"])
        if rtype.storage_version and rtype.storage_version != rtype.version:
            return f"{rtype.group}/{rtype.storage_version}" if rtype.group else rtype.storage_version
        return rtype.api_version

    def _crds(self) -> list[dict[str, Any]]:
        records, _ = self.store.list(CRDS.storage_prefix)
        return [r.value for r in records]

    @staticmethod
    def _finalized(rtype: ResourceType, obj: dict[str, Any]) -> bool:
        """A deleting object whose last finalizer is gone is removed instead of updated."""
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp") or meta.get("finalizers"):
            return False
        return not (rtype is NAMESPACES and (obj.get("spec") or {}).get("finalizers"))


def _only_managed_times_differ(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether `new` is `old` but for the times of its managedFields entries.

    The field manager runs before mutating admission, so a change a webhook then reverts (or a default that
    puts back what a client dropped) still moved its manager's time; kube-apiserver ignores such changes too,
    so the write is the no-op it really is.
    """
    old_meta, new_meta = old["metadata"], new["metadata"]
    if old_meta.keys() != new_meta.keys() or "managedFields" not in new_meta:
        return False
    old_entries, new_entries = old_meta.get("managedFields"), new_meta["managedFields"]
    if not isinstance(old_entries, list) or not isinstance(new_entries, list) or len(old_entries) != len(new_entries):
        return False
    untimed = [{k: v for k, v in entry.items() if k != "time"} if isinstance(entry, dict) else entry
               for entry in new_entries]
    if untimed != [{k: v for k, v in entry.items() if k != "time"} if isinstance(entry, dict) else entry
                   for entry in old_entries]:
        return False
    return {k: v for k, v in old.items() if k != "metadata"} == {k: v for k, v in new.items() if k != "metadata"} \
        and all(old_meta[k] == new_meta[k] for k in old_meta if k != "managedFields")


def status_error_for(exc: Exception) -> StatusError:
    """Map storage exceptions that escaped a handler to API errors."""
    if isinstance(exc, StatusError):
        return exc
    return errors.internal("internal error")

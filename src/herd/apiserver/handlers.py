"""REST handlers for resource URLs: verbs mapped onto `Objects`, answers encoded for the client."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import errors
from .apply.merge import merge
from .apply.shapes import shape_for
from .auth import UserInfo
from .bodies import read_limited
from .builtins import NAMESPACES
from .codec import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    decode_body,
    int_param,
    json_response,
    media_type,
    query_bool,
    success_status,
    wants_table,
    write_options,
)
from .deletion import delete_object, delete_options
from .errors import Cause
from .eviction import serve_eviction
from .jsonutil import get_path, set_path
from .listing import ListQuery, list_objects, validate_list_options
from .objects import ApplyIntent, Objects, WriteOptions
from .patch import json_patch, merge_patch, strategic_merge_patch
from .portforward import PortForwarding
from .resources import ResourceType
from .routing import ResourcePath
from .table import BUILTIN_COLUMNS, ColumnSpec, crd_columns, to_table
from .typed_decode import check_builtin, check_patched_identity, check_scale
from .watch import serve_watch
from .workloads import selector_string

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def table_columns(rtype: ResourceType) -> list[ColumnSpec]:
    if rtype.builtin:
        return BUILTIN_COLUMNS.get(rtype.plural) or crd_columns([])
    return crd_columns([dict(c) for c in rtype.printer_columns])


class ResourceHandlers:
    """Serves `/api/...` and `/apis/...` resource URLs for one server."""

    def __init__(self, objects: Objects, port_forwarding: PortForwarding | None = None) -> None:
        self.objects = objects
        self.port_forwarding = port_forwarding or PortForwarding(None)

    async def handle(self, request: web.BaseRequest, path: ResourcePath, rtype: ResourceType,
                     user: UserInfo | None) -> web.StreamResponse:
        method = request.method
        query = request.query
        if path.subresource and path.subresource not in rtype.subresources:
            raise errors.not_found(rtype.group, f"{rtype.plural}/{path.subresource}", path.name)
        if rtype.namespaced and not path.namespace and path.name:
            raise errors.not_found(rtype.group, rtype.plural, path.name)
        namespace = path.namespace if rtype.namespaced else ""
        if method in _BODY_METHODS:
            request = await read_limited(request)
        if path.subresource == "eviction":  # create-only, as in kube
            if method != "POST":
                raise errors.method_not_allowed(f"{method} is not supported on {rtype.plural}/eviction")
            return await serve_eviction(request, self.objects, namespace, path.name, user)
        if path.subresource == "portforward":  # a connect verb: the pod must exist, then the request upgrades
            return await self.port_forwarding.serve(request, namespace, self.objects.get(rtype, namespace, path.name))
        if method == "GET":
            if not path.name:
                if query_bool(query, "watch"):
                    return await serve_watch(request, self.objects.store, rtype, namespace)
                return self._list(request, rtype, namespace)
            return self._get(request, rtype, namespace, path)
        if method == "POST":
            if path.name:
                raise errors.method_not_allowed(f"POST is not supported on {rtype.plural}/{path.name}")
            return await self._create(request, rtype, namespace, user)
        if not path.name:
            if method == "DELETE" and rtype is not NAMESPACES:  # namespaces have no deletecollection verb
                return await self._delete_collection(request, rtype, namespace, user)
            raise errors.method_not_allowed(f"{method} is not supported on a collection")
        if method == "PUT":
            return await self._update(request, rtype, namespace, path, user)
        if method == "PATCH":
            return await self._patch(request, rtype, namespace, path, user)
        if method == "DELETE":
            return await self._delete(request, rtype, namespace, path, user)
        raise errors.method_not_allowed(f"the server does not allow the method {method}")

    # ---- reads ----------------------------------------------------------------------------------
    def _get(self, request: web.BaseRequest, rtype: ResourceType, namespace: str,
             path: ResourcePath) -> web.Response:
        validate_list_options(request.query, self.objects.store.revision)
        obj = self.objects.get(rtype, namespace, path.name)
        if path.subresource == "scale":
            return json_response(self._scale_of(rtype, obj))
        if wants_table(request.headers.get("Accept")):
            return json_response(to_table([obj], table_columns(rtype),
                                          list_metadata={"resourceVersion": obj["metadata"]["resourceVersion"]},
                                          include_object=request.query.get("includeObject", "Metadata")))
        return json_response(obj)

    def _list(self, request: web.BaseRequest, rtype: ResourceType, namespace: str) -> web.Response:
        query = request.query
        validate_list_options(query, self.objects.store.revision)
        page = list_objects(self.objects.store, rtype, ListQuery(
            namespace=namespace,
            label_selector=query.get("labelSelector", ""),
            field_selector=query.get("fieldSelector", ""),
            limit=int_param(query, "limit"),
            continue_token=query.get("continue", ""),
        ))
        meta: dict[str, Any] = {"resourceVersion": str(page.revision)}
        if page.continue_token:
            meta["continue"] = page.continue_token
            meta["remainingItemCount"] = page.remaining
        if wants_table(request.headers.get("Accept")):
            return json_response(to_table(page.items, table_columns(rtype), list_metadata=meta,
                                          include_object=query.get("includeObject", "Metadata")))
        return json_response({"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": meta,
                              "items": page.items})

    # ---- writes ---------------------------------------------------------------------------------
    async def _create(self, request: web.BaseRequest, rtype: ResourceType, namespace: str,
                      user: UserInfo | None) -> web.Response:
        body = decode_body(await request.read(), request.headers.get("Content-Type"))
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be an object")
        result = await self.objects.create(rtype, namespace, body, self._options(request, user))
        return json_response(result.obj, 201, result.warnings)

    async def _update(self, request: web.BaseRequest, rtype: ResourceType, namespace: str,
                      path: ResourcePath, user: UserInfo | None) -> web.Response:
        body = decode_body(await request.read(), request.headers.get("Content-Type"))
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be an object")
        opts = self._options(request, user)
        if path.subresource == "scale":
            return await self._write_scale(rtype, namespace, path.name, lambda scale: body, opts)
        if rtype is NAMESPACES and path.subresource == "finalize":
            check_builtin(NAMESPACES, body)
            return await self._finalize_namespace(path.name, body, opts)
        result = await self.objects.update(rtype, namespace, path.name, body, opts, path.subresource)
        return json_response(result.obj, 200, result.warnings)

    async def _patch(self, request: web.BaseRequest, rtype: ResourceType, namespace: str,
                     path: ResourcePath, user: UserInfo | None) -> web.Response:
        content_type = request.headers.get("Content-Type")
        mtype = media_type(content_type)
        if mtype == APPLY_PATCH:
            return await self._apply(request, rtype, namespace, path, user)
        if request.query.get("force") is not None:
            raise errors.invalid("meta.k8s.io", "PatchOptions", "", [Cause(
                "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch", "force")])
        if mtype not in (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH):
            raise errors.unsupported_media_type(mtype)
        if mtype == STRATEGIC_PATCH and not rtype.builtin:
            raise errors.StatusError(415, "UnsupportedMediaType",
                                     f"strategic merge patch is not supported for {rtype.group_resource}; "
                                     "use a merge or JSON patch")
        patch = decode_body(await request.read(), content_type)
        opts = self._options(request, user)

        def apply(target: dict[str, Any]) -> dict[str, Any]:
            if mtype == JSON_PATCH:
                return json_patch(target, patch)
            if mtype == STRATEGIC_PATCH:
                return strategic_merge_patch(target, patch, rtype.kind)
            return merge_patch(target, patch)

        if path.subresource == "scale":
            return await self._write_scale(rtype, namespace, path.name, apply, opts)
        precondition = ""
        if isinstance(patch, dict) and isinstance(patch.get("metadata"), dict):
            precondition = str(patch["metadata"].get("resourceVersion") or "")
        warnings: list[str] = []

        def compute(current: dict[str, Any]) -> dict[str, Any]:
            patched = apply(current)
            if not isinstance(patched, dict):
                raise errors.bad_request("the patch produced something other than an object")
            check_patched_identity(rtype, namespace, path.name, patched)
            self.objects.handle_unknown_fields(rtype, patched, opts, warnings, path.subresource)
            return patched

        result = await self.objects.guaranteed_update(rtype, namespace, path.name, compute, opts, path.subresource,
                                                      precondition_rv=precondition, warnings=warnings)
        return json_response(result.obj, 200, result.warnings)

    async def _apply(self, request: web.BaseRequest, rtype: ResourceType, namespace: str, path: ResourcePath,
                     user: UserInfo | None) -> web.Response:
        """Server-side apply: merge the configuration into the object (creating it when absent) and record
        its fields as the manager's."""
        opts = self._options(request, user)
        force = bool(query_bool(request.query, "force"))
        if not opts.field_manager:
            raise errors.invalid("meta.k8s.io", "PatchOptions", "", [Cause(
                "FieldValueRequired", "Required value: is required for apply patch", "fieldManager")])
        if path.subresource not in ("", "status", "scale"):
            raise errors.unsupported_media_type(f"{APPLY_PATCH} on {rtype.plural}/{path.subresource}")
        config = decode_body(await request.read(), request.headers.get("Content-Type"))
        if not isinstance(config, dict):
            raise errors.bad_request("the apply configuration must be an object")
        meta = config.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if isinstance(meta, dict) and meta.get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")
        warnings: list[str] = []
        if path.subresource == "scale":
            config = self._scale_config(rtype, path.name, config)
        else:
            self.objects.handle_unknown_fields(rtype, config, opts, warnings, path.subresource)
        opts.apply = ApplyIntent(config, force)
        root = shape_for(rtype.kind, rtype.builtin, rtype.schema)
        precondition = str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""

        def compute(current: dict[str, Any]) -> dict[str, Any]:
            merged: dict[str, Any] = merge(current, config, root)
            check_patched_identity(rtype, namespace, path.name, merged)
            return merged

        try:
            result = await self.objects.guaranteed_update(rtype, namespace, path.name, compute, opts,
                                                          path.subresource, precondition_rv=precondition,
                                                          warnings=warnings)
            if path.subresource == "scale":
                return json_response(self._scale_of(rtype, result.obj))
            return json_response(result.obj, 200, result.warnings)
        except errors.StatusError as exc:
            if exc.code != 404 or path.subresource or self.objects.store.get(rtype.key(namespace, path.name)):
                raise
        created: dict[str, Any] = merge({}, config, root)
        check_patched_identity(rtype, namespace, path.name, created)
        result = await self.objects.create(rtype, namespace, created, opts)
        return json_response(result.obj, 201, result.warnings)

    @staticmethod
    def _scale_config(rtype: ResourceType, name: str, scale: dict[str, Any]) -> dict[str, Any]:
        """An applied Scale as the configuration of the object it scales: the replicas at the scale path, so
        the applier owns that field of the object (recorded with subresource `scale`, as kube does)."""
        assert rtype.scale is not None
        replicas = _scale_replicas(name, scale)
        config: dict[str, Any] = {"apiVersion": rtype.api_version, "kind": rtype.kind, "metadata": {"name": name}}
        set_path(config, rtype.scale.spec_replicas_path, replicas)
        return config

    @staticmethod
    def _options(request: web.BaseRequest, user: UserInfo | None) -> WriteOptions:
        return write_options(request.query, user, request.headers.get("User-Agent", ""))

    async def _delete(self, request: web.BaseRequest, rtype: ResourceType, namespace: str,
                      path: ResourcePath, user: UserInfo | None) -> web.Response:
        options = await delete_options(request)
        opts = self._delete_write_options(request, options, user)
        obj, gone = await delete_object(self.objects, rtype, namespace, path.name, options, opts)
        if gone and rtype.builtin and rtype is not NAMESPACES:
            return json_response(success_status({"name": path.name, "group": rtype.group, "kind": rtype.plural,
                                                 "uid": obj["metadata"].get("uid", "")}))
        return json_response(obj)

    async def _delete_collection(self, request: web.BaseRequest, rtype: ResourceType, namespace: str,
                                 user: UserInfo | None) -> web.Response:
        options = await delete_options(request)
        opts = self._delete_write_options(request, options, user)
        page = list_objects(self.objects.store, rtype, ListQuery(
            namespace=namespace, label_selector=request.query.get("labelSelector", ""),
            field_selector=request.query.get("fieldSelector", "")))
        deleted = []
        for item in page.items:
            meta = item["metadata"]
            try:
                obj, _ = await delete_object(self.objects, rtype, meta.get("namespace", ""), meta["name"],
                                             options, opts)
            except errors.StatusError as exc:
                if exc.code == 404:
                    continue
                raise
            deleted.append(obj)
        return json_response({"kind": rtype.list_kind, "apiVersion": rtype.api_version,
                              "metadata": {"resourceVersion": str(self.objects.store.revision)}, "items": deleted})

    @staticmethod
    def _delete_write_options(request: web.BaseRequest, options: dict[str, Any], user: UserInfo | None) -> WriteOptions:
        """Write options of a DELETE; DeleteOptions may ask for a dry run in the body (kubectl --dry-run=server)."""
        opts = write_options(request.query, user, request.headers.get("User-Agent", ""))
        body_dry_run = options.get("dryRun") or []
        if not isinstance(body_dry_run, list) or any(value != "All" for value in body_dry_run):
            raise errors.bad_request(f'dryRun: Unsupported value: {body_dry_run!r}: supported values: "All"')
        opts.dry_run = opts.dry_run or bool(body_dry_run)
        return opts

    async def _finalize_namespace(self, name: str, body: dict[str, Any], opts: WriteOptions) -> web.Response:
        finalizers = (body.get("spec") or {}).get("finalizers") or []

        def set_finalizers(obj: dict[str, Any]) -> dict[str, Any]:
            obj.setdefault("spec", {})["finalizers"] = list(finalizers)
            return obj

        result = await self.objects.guaranteed_update(NAMESPACES, "", name, set_finalizers, opts, "finalize")
        return json_response(result.obj)

    # ---- scale subresource ------------------------------------------------------------------------
    @staticmethod
    def _scale_of(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        assert rtype.scale is not None
        meta = obj["metadata"]
        status: dict[str, Any] = {"replicas": int(get_path(obj, rtype.scale.status_replicas_path) or 0)}
        # built-ins (Deployment) report their spec.selector; custom resources whatever their CRD points at
        selector = get_path(obj, rtype.scale.label_selector_path) if rtype.scale.label_selector_path else \
            selector_string(obj) if rtype.builtin else ""
        if selector:
            status["selector"] = selector
        return {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": int(get_path(obj, rtype.scale.spec_replicas_path) or 0)},
            "status": status,
        }

    async def _write_scale(self, rtype: ResourceType, namespace: str, name: str, change: Any,
                           opts: WriteOptions) -> web.Response:
        assert rtype.scale is not None
        scale_path = rtype.scale.spec_replicas_path

        def compute(current: dict[str, Any]) -> dict[str, Any]:
            scale = change(self._scale_of(rtype, current))
            replicas = _scale_replicas(name, scale)
            rv = (scale.get("metadata") or {}).get("resourceVersion")
            if rv and str(rv) != current["metadata"].get("resourceVersion"):
                raise errors.stale_conflict(rtype.group, rtype.plural, name)
            set_path(current, scale_path, replicas)
            return current

        result = await self.objects.guaranteed_update(rtype, namespace, name, compute, opts, "scale")
        return json_response(self._scale_of(rtype, result.obj))


def _scale_replicas(name: str, scale: object) -> int:
    """The replicas a written Scale asks for: a Scale's Go types, and a count of at least 0 (422 otherwise)."""
    if isinstance(scale, dict):
        check_scale(scale)
    replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid("autoscaling", "Scale", name, [Cause(
            "FieldValueInvalid", f"Invalid value: {replicas!r}: must be greater than or equal to 0", "spec.replicas")])
    return replicas

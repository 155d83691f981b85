"""The built-in resource types herd serves, and the per-kind rules applied when they are written."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from . import event_conversion as ev
from .errors import Cause
from .resources import ResourceType, ScaleSubresource
from .workloads import default_daemonset, default_deployment, selector_causes

_EVENT_FIELDS = (
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
    "reason", "reportingComponent", "source", "type",
)


def _core(kind: str, plural: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType(group="", version="v1", kind=kind, plural=plural, singular=kind.lower(),
                        namespaced=namespaced, list_kind=kind + "List", storage_version="v1", **kw)


NAMESPACES = _core("Namespace", "namespaces", namespaced=False, short_names=("ns",),
                   status_subresource=True, extra_subresources=("finalize",),
                   field_selectors=("status.phase",))
SECRETS = _core("Secret", "secrets", field_selectors=("type",))
CONFIGMAPS = _core("ConfigMap", "configmaps", short_names=("cm",))
EVENTS = _core("Event", "events", short_names=("ev",), field_selectors=_EVENT_FIELDS)


@dataclass(frozen=True)
class _StoredAs(ResourceType):
    """A kind served in one group and stored as another group's kind (under that kind's keys)."""

    stored_as: ResourceType | None = None

    @property
    def storage_prefix(self) -> str:
        return self.stored_as.storage_prefix if self.stored_as is not None else super().storage_prefix


# The same objects as EVENTS, converted both ways (event_conversion); core's type stays the storage one.
EVENTS_V1 = _StoredAs(group="events.k8s.io", version="v1", kind="Event", plural="events", singular="event",
                      namespaced=True, list_kind="EventList", short_names=("ev",), stored_as=EVENTS,
                      field_selectors=ev.EVENTS_V1_FIELD_LABELS,
                      extra={"from_storage": ev.to_events_v1, "storage_api_version": ev.CORE_V1})
SERVICEACCOUNTS = _core("ServiceAccount", "serviceaccounts", short_names=("sa",))
NODES = _core("Node", "nodes", namespaced=False, short_names=("no",), status_subresource=True,
              field_selectors=("spec.unschedulable", "spec.providerID"))
PODS = _core("Pod", "pods", short_names=("po",), categories=("all",), status_subresource=True,
             extra_subresources=("eviction", "portforward"), field_selectors=("spec.nodeName", "status.phase"))
LEASES = ResourceType(group="coordination.k8s.io", version="v1", kind="Lease", plural="leases",
                      singular="lease", namespaced=True, list_kind="LeaseList", storage_version="v1")
CRDS = ResourceType(group="apiextensions.k8s.io", version="v1", kind="CustomResourceDefinition",
                    plural="customresourcedefinitions", singular="customresourcedefinition",
                    namespaced=False, list_kind="CustomResourceDefinitionList", short_names=("crd", "crds"),
                    categories=("api-extensions",), status_subresource=True, storage_version="v1")
MUTATING_WEBHOOKS = ResourceType(
    group="admissionregistration.k8s.io", version="v1", kind="MutatingWebhookConfiguration",
    plural="mutatingwebhookconfigurations", singular="mutatingwebhookconfiguration", namespaced=False,
    list_kind="MutatingWebhookConfigurationList", categories=("api-extensions",), storage_version="v1")
VALIDATING_WEBHOOKS = ResourceType(
    group="admissionregistration.k8s.io", version="v1", kind="ValidatingWebhookConfiguration",
    plural="validatingwebhookconfigurations", singular="validatingwebhookconfiguration", namespaced=False,
    list_kind="ValidatingWebhookConfigurationList", categories=("api-extensions",), storage_version="v1")
PDBS = ResourceType(group="policy", version="v1", kind="PodDisruptionBudget", plural="poddisruptionbudgets",
                    singular="poddisruptionbudget", namespaced=True, list_kind="PodDisruptionBudgetList",
                    short_names=("pdb",), status_subresource=True, storage_version="v1")
DEPLOYMENTS = ResourceType(group="apps", version="v1", kind="Deployment", plural="deployments",
                           singular="deployment", namespaced=True, list_kind="DeploymentList",
                           short_names=("deploy",), categories=("all",), status_subresource=True,
                           scale=ScaleSubresource(".spec.replicas", ".status.replicas"), storage_version="v1")
DAEMONSETS = ResourceType(group="apps", version="v1", kind="DaemonSet", plural="daemonsets", singular="daemonset",
                          namespaced=True, list_kind="DaemonSetList", short_names=("ds",), categories=("all",),
                          status_subresource=True, storage_version="v1")
_WORKLOAD_DEFAULTS = {DEPLOYMENTS.plural: default_deployment, DAEMONSETS.plural: default_daemonset}

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    NAMESPACES, SECRETS, CONFIGMAPS, EVENTS, EVENTS_V1, SERVICEACCOUNTS, NODES, PODS, LEASES, CRDS,
    MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS, PDBS, DEPLOYMENTS, DAEMONSETS,
)

SCALE_TYPE = ScaleSubresource  # re-exported for callers building CRD types

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def prepare_builtin_create(rtype: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    """Kind-specific normalisation on create; returns causes when the object is invalid."""
    if rtype is EVENTS_V1:
        ev.to_core(obj)
        return ev.legacy_causes(obj) + ev.strict_create_causes(obj)
    if rtype is EVENTS:
        return ev.legacy_causes(obj)
    if rtype is SECRETS:
        return _fold_string_data(obj) + _data_causes(obj, ("data",))
    if rtype is CONFIGMAPS:
        return _data_causes(obj, ("data", "binaryData"))
    if rtype is NAMESPACES:
        spec = obj.setdefault("spec", {})
        finalizers = spec.get("finalizers") or []
        if "kubernetes" not in finalizers:
            spec["finalizers"] = [*finalizers, "kubernetes"]
        obj["status"] = {"phase": "Active"}
    if rtype is PODS:  # a new pod waits for its kubelet; a simulated one may create it with status already set
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        if not status.get("phase"):
            status["phase"] = "Pending"
    if rtype in (DEPLOYMENTS, DAEMONSETS):  # status is the controllers' to write, through /status
        obj["status"] = {}
        _WORKLOAD_DEFAULTS[rtype.plural](obj)
        return selector_causes(obj)
    return []


def prepare_builtin_update(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    """Kind-specific normalisation on update."""
    if rtype is EVENTS_V1:
        ev.to_core(obj)
        previous = dict(old)
        ev.to_core(previous)
        return ev.legacy_causes(obj) + ev.strict_update_causes(obj, previous)
    if rtype is EVENTS:
        return ev.legacy_causes(obj)
    if rtype is SECRETS:
        causes = _fold_string_data(obj) + _data_causes(obj, ("data",))
        if old.get("immutable") and (obj.get("data") != old.get("data") or obj.get("type") != old.get("type")):
            causes.append(Cause("FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set",
                                "data"))
        elif old.get("type") and obj.get("type", "Opaque") != old.get("type"):
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{obj.get("type")}": field is immutable',
                                "type"))
        return causes
    if rtype is CONFIGMAPS and old.get("immutable") and (
        obj.get("data") != old.get("data") or obj.get("binaryData") != old.get("binaryData")
    ):
        return [Cause("FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set", "data")]
    if rtype is CONFIGMAPS:
        return _data_causes(obj, ("data", "binaryData"))
    if rtype is NAMESPACES:
        # the spec (finalizers) changes only through /finalize; phase belongs to the server
        obj["spec"] = old.get("spec", {})
        obj["status"] = old.get("status", {})
    if rtype in (DEPLOYMENTS, DAEMONSETS):
        _WORKLOAD_DEFAULTS[rtype.plural](obj)
        return selector_causes(obj, old)
    return []


def _fold_string_data(obj: dict[str, Any]) -> list[Cause]:
    """Secrets: `stringData` is write-only sugar merged into base64 `data`, as kube-apiserver does."""
    causes: list[Cause] = []
    string_data = obj.pop("stringData", None)
    if string_data is not None and not isinstance(string_data, dict):
        return [Cause("FieldValueInvalid", "Invalid value: stringData must be a map of strings", "stringData")]
    data = dict(obj.get("data") or {})
    for key, value in (string_data or {}).items():
        if not isinstance(value, str):
            causes.append(Cause("FieldValueInvalid", "Invalid value: must be a string", f"stringData[{key}]"))
            continue
        data[key] = base64.b64encode(value.encode()).decode()
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            causes.append(Cause("FieldValueInvalid", "Invalid value: illegal base64 data", f"data[{key}]"))
    if data:
        obj["data"] = data
    obj.setdefault("type", "Opaque")
    return causes


_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_MAX_DATA_BYTES = 1024 * 1024


def _data_causes(obj: dict[str, Any], fields: tuple[str, ...]) -> list[Cause]:
    """ConfigMap and Secret keys must be valid config keys, unique across fields, and 1 MiB in total."""
    causes: list[Cause] = []
    seen: set[str] = set()
    total = 0
    for name in fields:
        for key, value in (obj.get(name) or {}).items():
            problem = _config_key_problem(key)
            if problem:
                causes.append(Cause("FieldValueInvalid", f'Invalid value: "{key}": {problem}', f"{name}[{key}]"))
            elif key in seen:
                causes.append(Cause("FieldValueInvalid", f'Invalid value: "{key}": duplicate of key present in '
                                    f"{fields[0]}", f"{name}[{key}]"))
            seen.add(key)
            total += len(key) + len(value or "")
    if total > _MAX_DATA_BYTES:
        causes.append(Cause("FieldValueTooLong", f"Too long: must have at most {_MAX_DATA_BYTES} bytes", "[]"))
    return causes


def _config_key_problem(key: str) -> str:
    if len(key) > 253:
        return "must be no more than 253 characters"
    if not _CONFIG_KEY.fullmatch(key):
        return ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
    if key in (".", ".."):
        return f"must not be '{key}'"
    if key.startswith(".."):
        return "must not start with '..'"
    return ""

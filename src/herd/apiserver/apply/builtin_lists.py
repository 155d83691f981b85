"""kube's merge keys for the built-in kinds herd serves: which lists merge as sets or by key fields.

Built-in schemas in herd are not complete enough to drive server-side apply, so this table records, by
dotted path (list positions left out: `spec.containers.ports`), what kube's own OpenAPI declares with
`x-kubernetes-list-type`/`x-kubernetes-list-map-keys` and `x-kubernetes-map-type: atomic`. Lists not named
are atomic, as in kube. `free_maps` are maps from strings to values (labels, data): their keys are not
declared fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ListStrategy = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class BuiltinTable:
    lists: dict[str, ListStrategy] = field(default_factory=dict)
    atomic_maps: frozenset[str] = frozenset()
    free_maps: frozenset[str] = frozenset()


def _map(*keys: str) -> ListStrategy:
    return ("map", keys)


_SET: ListStrategy = ("set", ())

_META_LISTS = {"metadata.ownerReferences": _map("uid"), "metadata.finalizers": _SET}
_META_FREE = frozenset({"metadata.labels", "metadata.annotations"})
OBJECT_META = BuiltinTable(_META_LISTS, free_maps=_META_FREE)


def _pod_spec(prefix: str) -> dict[str, ListStrategy]:
    lists = {f"{prefix}.{key}": _map(*keys) for key, keys in (
        ("volumes", ("name",)), ("imagePullSecrets", ("name",)), ("hostAliases", ("ip",)),
        ("topologySpreadConstraints", ("topologyKey", "whenUnsatisfiable")), ("schedulingGates", ("name",)),
        ("resourceClaims", ("name",)), ("readinessGates", ("conditionType",)))}
    for containers in ("containers", "initContainers", "ephemeralContainers"):
        lists[f"{prefix}.{containers}"] = _map("name")
        for key, keys in (("ports", ("containerPort", "protocol")), ("env", ("name",)),
                          ("volumeMounts", ("mountPath",)), ("volumeDevices", ("devicePath",)),
                          ("resizePolicy", ("resourceName",))):
            lists[f"{prefix}.{containers}.{key}"] = _map(*keys)
    return lists


def _pod_free(prefix: str) -> frozenset[str]:
    return frozenset({f"{prefix}.nodeSelector", *(f"{prefix}.{c}.resources.{r}" for c in (
        "containers", "initContainers") for r in ("limits", "requests"))})


_CONDITIONS = {"status.conditions": _map("type")}
_WORKLOAD = BuiltinTable(
    {**_pod_spec("spec.template.spec"), **_CONDITIONS},
    atomic_maps=frozenset({"spec.selector"}),
    free_maps=frozenset({"spec.selector.matchLabels", "spec.template.metadata.labels",
                         "spec.template.metadata.annotations", *_pod_free("spec.template.spec")}),
)
_CONFIG = BuiltinTable(free_maps=frozenset({"data", "binaryData", "stringData"}))

_TABLES: dict[str, BuiltinTable] = {
    "Namespace": BuiltinTable({**_CONDITIONS, "spec.finalizers": _SET}),
    "ConfigMap": _CONFIG,
    "Secret": _CONFIG,
    "ServiceAccount": BuiltinTable({"secrets": _map("name")}),
    "Node": BuiltinTable({**_CONDITIONS, "status.addresses": _map("type"), "spec.podCIDRs": _SET},
                         free_maps=frozenset({"status.capacity", "status.allocatable"})),
    "Pod": BuiltinTable({**_pod_spec("spec"), **_CONDITIONS, "status.podIPs": _map("ip"),
                         "status.hostIPs": _map("ip")}, free_maps=_pod_free("spec")),
    "Deployment": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "PodDisruptionBudget": BuiltinTable(_CONDITIONS, atomic_maps=frozenset({"spec.selector"}),
                                        free_maps=frozenset({"spec.selector.matchLabels"})),
    "MutatingWebhookConfiguration": BuiltinTable({"webhooks": _map("name")}),
    "ValidatingWebhookConfiguration": BuiltinTable({"webhooks": _map("name")}),
    "CustomResourceDefinition": BuiltinTable({**_CONDITIONS, "spec.versions": _map("name")}),
}
_DEFAULT = BuiltinTable()


def table_for(kind: str) -> BuiltinTable:
    """The table of a built-in kind (with ObjectMeta's entries); unknown kinds have atomic lists only."""
    table = _TABLES.get(kind, _DEFAULT)
    return BuiltinTable({**_META_LISTS, **table.lists}, table.atomic_maps, table.free_maps | _META_FREE)

"""The Cluster API admission webhooks `herd up` and `herd init` serve and register.

    routes = capi_webhook_routes()
    server = WebhookServer(cert_file, key_file)
    register_routes(server, routes)
    await server.start()
    mutating, validating = webhook_configurations(ca_pem, f"https://127.0.0.1:{server.port}")
    # ... create or update both objects on the management plane

Paths, webhook names, kinds and operations are upstream's (its kubebuilder markers), so a management plane set
up by herd looks like one set up by clusterctl. Only CREATE and UPDATE are registered: upstream's Cluster
webhook also lists DELETE, where it accepts everything.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from herd.api.bootstrap import webhooks as bootstrap
from herd.api.cluster import webhooks as core
from herd.api.cluster.clusterclass_webhooks import TopologyReader, review_cluster_class
from herd.api.controlplane import webhooks as controlplane
from herd.api.webhookutil import DEFAULT_GATES, FeatureGates
from herd.runtime.webhook import Defaulter, FieldError, Validator, WebhookDenied, WebhookServer

Obj = dict[str, Any]
DefaultFunc = Callable[[Obj, Obj | None], Obj]
ValidateFunc = Callable[[Obj, Obj | None], list[FieldError]]

OPERATIONS = ("CREATE", "UPDATE")
MUTATING_CONFIGURATION = "herd-capi-mutating-webhook-configuration"
VALIDATING_CONFIGURATION = "herd-capi-validating-webhook-configuration"
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class WebhookRoute:
    """One webhook: where it is served, what it is called, which requests reach it, and its function."""

    path: str
    name: str
    group: str
    version: str
    kind: str
    resource: str
    operations: tuple[str, ...]
    defaulter: Defaulter | None = None
    validator: Validator | None = None

    @property
    def mutating(self) -> bool:
        """A mutating (defaulting) webhook, as opposed to a validating one."""
        return self.defaulter is not None


def _old(request: Obj) -> Obj | None:
    old = request.get("oldObject")
    return old if request.get("operation") == "UPDATE" and isinstance(old, dict) else None


def defaulter(fn: DefaultFunc) -> Defaulter:
    """A server defaulter from a pure `fn(obj, old)`."""
    def default(obj: Obj, request: Obj) -> Obj:
        return fn(obj, _old(request))
    return default


def validator(group: str, kind: str, fn: Callable[[Obj, Obj | None], tuple[list[str], list[FieldError]]]
              ) -> Validator:
    """A server validator from a pure `fn(obj, old) -> (warnings, errors)`: errors become a 422 Invalid."""
    def validate(request: Obj) -> list[str]:
        if request.get("operation") not in OPERATIONS:
            return []
        obj = request.get("object")
        if not isinstance(obj, dict):
            raise WebhookDenied(f"the {kind} in the request is not an object", 400)
        warnings, errors = fn(obj, _old(request))
        if errors:
            name = (obj.get("metadata") or {}).get("name") or ""
            raise WebhookDenied.invalid(group, kind, str(name), errors)
        return warnings
    return validate


def _no_warnings(fn: ValidateFunc) -> Callable[[Obj, Obj | None], tuple[list[str], list[FieldError]]]:
    return lambda obj, old: ([], fn(obj, old))


def _route(group: str, kind: str, handler: Defaulter | None = None, check: Validator | None = None) -> WebhookRoute:
    version, resource, mutating = "v1beta2", kind.lower() + "s", handler is not None
    path = f"/{'mutate' if mutating else 'validate'}-{group.replace('.', '-')}-{version}-{kind.lower()}"
    name = f"{'default' if mutating else 'validation'}.{kind.lower()}.{group}"
    return WebhookRoute(path, name, group, version, kind, resource, OPERATIONS, handler, check)


def capi_webhook_routes(gates: FeatureGates = DEFAULT_GATES, reader: TopologyReader | None = None
                        ) -> list[WebhookRoute]:
    """Every Cluster API webhook herd serves, mutating ones first; `reader` lets the Cluster and ClusterClass
    webhooks read ClusterClasses and the Clusters using them."""
    cluster_group, bootstrap_group, cp_group = "cluster.x-k8s.io", "bootstrap.cluster.x-k8s.io", \
        "controlplane.cluster.x-k8s.io"
    defaulters: list[tuple[str, str, DefaultFunc]] = [
        (cluster_group, "Cluster", partial(core.default_cluster, reader=reader)),
        (cluster_group, "Machine", core.default_machine),
        (cluster_group, "MachineSet", core.default_machine_set),
        (cluster_group, "MachineDeployment", core.default_machine_deployment),
        (cluster_group, "MachineHealthCheck", core.default_machine_health_check),
        (cp_group, "KubeadmControlPlane", controlplane.default_kubeadm_control_plane),
    ]
    validators: list[tuple[str, str, Callable[[Obj, Obj | None], tuple[list[str], list[FieldError]]]]] = [
        (cluster_group, "Cluster", partial(core.validate_cluster, gates=gates, reader=reader)),
        (cluster_group, "Machine", _no_warnings(partial(core.validate_machine, gates=gates))),
        (cluster_group, "MachineSet", _no_warnings(partial(core.validate_machine_set, gates=gates))),
        (cluster_group, "MachineDeployment", _no_warnings(partial(core.validate_machine_deployment, gates=gates))),
        (cluster_group, "MachineHealthCheck", _no_warnings(core.validate_machine_health_check)),
        (bootstrap_group, "KubeadmConfig", _no_warnings(partial(bootstrap.validate_kubeadm_config, gates=gates))),
        (bootstrap_group, "KubeadmConfigTemplate",
         _no_warnings(partial(bootstrap.validate_kubeadm_config_template, gates=gates))),
        (cp_group, "KubeadmControlPlane",
         _no_warnings(partial(controlplane.validate_kubeadm_control_plane, gates=gates))),
        (cp_group, "KubeadmControlPlaneTemplate",
         _no_warnings(partial(controlplane.validate_kubeadm_control_plane_template, gates=gates))),
    ]
    routes = [_route(group, kind, defaulter(fn)) for group, kind, fn in defaulters]
    # The template defaulter needs the request's dryRun flag, not just the objects.
    routes.append(_route(bootstrap_group, "KubeadmConfigTemplate", lambda obj, request: (
        bootstrap.default_kubeadm_config_template(obj, dry_run=request.get("dryRun") is True))))
    routes += [_route(group, kind, check=validator(group, kind, fn)) for group, kind, fn in validators]
    # Deleting a ClusterClass that Clusters use is refused, so its webhook hears of deletions too.
    return [*routes, WebhookRoute("/validate-cluster-x-k8s-io-v1beta2-clusterclass",
                                  "validation.clusterclass.cluster.x-k8s.io", cluster_group, "v1beta2", "ClusterClass",
                                  "clusterclasses", (*OPERATIONS, "DELETE"),
                                  validator=partial(review_cluster_class, gates=gates, reader=reader))]


def register_routes(server: WebhookServer, routes: Sequence[WebhookRoute]) -> None:
    """Serve every route on `server`."""
    for route in routes:
        if route.defaulter is not None:
            server.register_defaulter(route.path, route.defaulter)
        if route.validator is not None:
            server.register_validator(route.path, route.validator)


def webhook_configurations(ca_bundle_pem: bytes | str, url_base: str,
                           routes: Sequence[WebhookRoute] | None = None) -> tuple[Obj, Obj]:
    """The MutatingWebhookConfiguration and ValidatingWebhookConfiguration that send the Cluster API kinds to a
    webhook server at `url_base` (e.g. "https://127.0.0.1:9443") whose certificate `ca_bundle_pem` signs."""
    pem = ca_bundle_pem.encode() if isinstance(ca_bundle_pem, str) else ca_bundle_pem
    ca_bundle, base = base64.b64encode(pem).decode(), url_base.rstrip("/")

    def hook(route: WebhookRoute) -> Obj:
        return {
            "name": route.name,
            "clientConfig": {"url": base + route.path, "caBundle": ca_bundle},
            "rules": [{"apiGroups": [route.group], "apiVersions": [route.version],
                       "operations": list(route.operations), "resources": [route.resource]}],
            "failurePolicy": "Fail", "matchPolicy": "Equivalent", "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "timeoutSeconds": TIMEOUT_SECONDS,
        }

    def configuration(kind: str, name: str, mutating: bool) -> Obj:
        return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
                "webhooks": [hook(r) for r in routes or capi_webhook_routes() if r.mutating is mutating]}

    return (configuration("MutatingWebhookConfiguration", MUTATING_CONFIGURATION, True),
            configuration("ValidatingWebhookConfiguration", VALIDATING_CONFIGURATION, False))

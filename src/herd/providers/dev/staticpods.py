"""A control plane machine's static pods as its kubelet mirrors them into the workload cluster.

kubeadm writes four manifests (kube-apiserver, kube-controller-manager, kube-scheduler, etcd); the kubelet runs
them and publishes a mirror pod for each in kube-system, named `<component>-<node>`, owned by its Node. The
control plane provider reads their Ready conditions, so the simulated kubelet keeps them: created when missing
(e.g. after the workload API server came back empty) and their status posted when it changes. Images follow
kubeadm: `<imageRepository>/<component>:<version>`, etcd with kubeadm's etcd tag for the minor version.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import yaml

from herd.runtime import CONFIGMAP, AlreadyExists, Client, NotFound, Object

from .cloudinit import SAFE_LOADER
from .kinds import MACHINE_ADDRESS, POD

COMPONENTS: Final = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
NAMESPACE: Final = "kube-system"
DEFAULT_IMAGE_REPOSITORY: Final = "registry.k8s.io"
API_SERVER_PORT: Final = 6443
ETCD_CLIENT_PORT: Final = 2379
# kubeadm's etcd image tag per Kubernetes minor version; newer minors get the newest known
_ETCD_TAGS: Final = {29: "3.5.16-0", 30: "3.5.16-0", 31: "3.5.16-0", 32: "3.5.16-0", 33: "3.5.21-0"}
_POD_CONDITIONS: Final = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
_FOLLOWS_READINESS: Final = frozenset({"Ready", "ContainersReady"})


def static_pod_name(component: str, node_name: str) -> str:
    return f"{component}-{node_name}"


def image_repository(cluster_configuration: dict[str, Any] | None) -> str:
    """ClusterConfiguration.imageRepository, or kubeadm's default registry."""
    return str((cluster_configuration or {}).get("imageRepository") or DEFAULT_IMAGE_REPOSITORY)


def control_plane_images(cluster_configuration: dict[str, Any] | None, version: str) -> dict[str, str]:
    """The image of each static pod for a machine of `version`, as kubeadm picks them."""
    repository = image_repository(cluster_configuration)
    images = {component: f"{repository}/{component}:{version}" for component in COMPONENTS if component != "etcd"}
    local = ((cluster_configuration or {}).get("etcd") or {}).get("local") or {}
    etcd_repository = str(local.get("imageRepository") or repository)
    images["etcd"] = f"{etcd_repository}/etcd:{local.get('imageTag') or etcd_tag(version)}"
    return images


def etcd_tag(version: str) -> str:
    try:
        minor = int(version.lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        minor = max(_ETCD_TAGS)
    return _ETCD_TAGS.get(minor, _ETCD_TAGS[max(_ETCD_TAGS)])


def _command(component: str, node_name: str) -> list[str]:
    """A plausible command line: what tools that read the manifests look for (endpoints, names)."""
    address = MACHINE_ADDRESS
    if component == "etcd":
        return ["etcd", f"--name={node_name}", f"--advertise-client-urls=https://{address}:{ETCD_CLIENT_PORT}",
                "--cert-file=/etc/kubernetes/pki/etcd/server.crt", "--client-cert-auth=true",
                "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt", "--data-dir=/var/lib/etcd"]
    if component == "kube-apiserver":
        return ["kube-apiserver", f"--advertise-address={address}", f"--secure-port={API_SERVER_PORT}",
                "--etcd-servers=https://127.0.0.1:2379", "--client-ca-file=/etc/kubernetes/pki/ca.crt"]
    return [component, "--kubeconfig=/etc/kubernetes/" + component.removeprefix("kube-") + ".conf",
            "--leader-elect=true"]


def mirror_pod(component: str, node: Object, image: str) -> Object:
    """The mirror pod of one static pod, without status (the kubelet posts it separately, as status is a
    subresource)."""
    node_meta = node.get("metadata") or {}
    node_name = str(node_meta.get("name") or "")
    annotations = {"kubernetes.io/config.source": "file", "kubernetes.io/config.mirror": f"{component}-manifest",
                   "kubernetes.io/config.hash": f"{component}-manifest"}
    if component == "kube-apiserver":
        annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = \
            f"{MACHINE_ADDRESS}:{API_SERVER_PORT}"
    if component == "etcd":
        annotations["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = f"https://{MACHINE_ADDRESS}:{ETCD_CLIENT_PORT}"
    metadata: dict[str, Any] = {"name": static_pod_name(component, node_name), "namespace": NAMESPACE,
                                "labels": {"component": component, "tier": "control-plane"},
                                "annotations": annotations}
    if node_meta.get("uid"):  # mirror pods belong to their Node: deleting the Node takes them along
        metadata["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                        "uid": node_meta["uid"], "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {
        "nodeName": node_name, "hostNetwork": True, "priorityClassName": "system-node-critical",
        "priority": 2000001000, "restartPolicy": "Always",
        "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
        "containers": [{"name": component, "image": image, "imagePullPolicy": "IfNotPresent",
                        "command": _command(component, node_name)}]}}


def pod_status(component: str, image: str, *, ready: bool, started: datetime, now: datetime) -> dict[str, Any]:
    """A running static pod's status; `ready` is what its readiness probe says."""
    conditions: list[dict[str, Any]] = []
    for condition_type in _POD_CONDITIONS:
        condition = {"type": condition_type, "status": "True", "lastProbeTime": None,
                     "lastTransitionTime": _stamp(started)}
        if not ready and condition_type in _FOLLOWS_READINESS:
            condition.update(status="False", lastTransitionTime=_stamp(now), reason="ContainersNotReady",
                             message=f"containers with unready status: [{component}]")
        conditions.append(condition)
    started_at = _stamp(started)
    return {"phase": "Running", "conditions": conditions, "hostIP": MACHINE_ADDRESS, "podIP": MACHINE_ADDRESS,
            "hostIPs": [{"ip": MACHINE_ADDRESS}], "podIPs": [{"ip": MACHINE_ADDRESS}], "startTime": started_at,
            "qosClass": "Burstable",
            "containerStatuses": [{"name": component, "image": image, "imageID": image, "ready": ready,
                                   "started": True, "restartCount": 0, "containerID": f"herd://{component}",
                                   "state": {"running": {"startedAt": started_at}}}]}


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # Kubernetes times are whole seconds


def is_ready(pod: Object) -> bool | None:
    """The pod's Ready condition (None when it has none)."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return None


async def sync_mirror_pods(client: Client, node: Object, images: dict[str, str], unready: Iterable[str], *,
                           started: datetime, now: datetime) -> None:
    """Create the Node's mirror pods that are missing and post the readiness of those that changed."""
    node_name = str((node.get("metadata") or {}).get("name") or "")
    found = {str(p["metadata"]["name"]): p for p in (await client.list(
        POD, namespace=NAMESPACE, field_selector=f"spec.nodeName={node_name}")).items}
    not_ready = frozenset(unready)
    for component, image in images.items():
        name = static_pod_name(component, node_name)
        ready = component not in not_ready
        pod = found.get(name)
        if pod is None:
            with contextlib.suppress(AlreadyExists):
                await client.create(mirror_pod(component, node, image), kind=POD)
        elif is_ready(pod) == ready and (pod.get("status") or {}).get("phase") == "Running":
            continue
        status = pod_status(component, image, ready=ready, started=started, now=now)
        with contextlib.suppress(NotFound):  # deleted meanwhile: the next beat creates it again
            await client.patch_status(POD, name, {"status": status}, namespace=NAMESPACE)


async def read_cluster_configuration(client: Client) -> dict[str, Any] | None:
    """The ClusterConfiguration in kube-system/kubeadm-config, as `kubeadm join --control-plane` downloads it."""
    try:
        config_map = await client.get(CONFIGMAP, "kubeadm-config", NAMESPACE)
        found = yaml.load((config_map.get("data") or {}).get("ClusterConfiguration") or "", Loader=SAFE_LOADER)
    except (NotFound, yaml.YAMLError):
        return None
    return found if isinstance(found, dict) else None


@dataclass
class StaticPodSet:
    """The static pods a control plane machine's kubelet runs: their images (decided on first use, from the
    ClusterConfiguration of the machine's kubeadm init, or else the cluster's kubeadm-config) and which of them a
    fault makes report not Ready."""

    version: str
    cluster_configuration: dict[str, Any] | None = None
    unready: frozenset[str] = frozenset()
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    images: dict[str, str] | None = None

    async def sync(self, client: Client, node: Object, *, node_ready: bool) -> None:
        """Mirror the pods of `node`; a Node that is not Ready has none Ready (as the node lifecycle controller
        marks them)."""
        if self.images is None:
            config = self.cluster_configuration or await read_cluster_configuration(client)
            self.images = control_plane_images(config, self.version)
        unready = self.unready if node_ready else frozenset(COMPONENTS)
        await sync_mirror_pods(client, node, self.images, unready, started=self.started, now=datetime.now(UTC))


async def delete_mirror_pods(client: Client, node_name: str) -> None:
    """Delete a removed machine's mirror pods (those already gone are fine)."""
    for component in COMPONENTS:
        with contextlib.suppress(NotFound):
            await client.delete(POD, static_pod_name(component, node_name), NAMESPACE)

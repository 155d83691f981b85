"""The kubeadm control plane provider's API (controlplane.cluster.x-k8s.io/v1beta2): KubeadmControlPlane
and KubeadmControlPlaneTemplate.

Condition types and reasons, annotations and the finalizer live beside the kind, in
`herd.api.controlplane.kubeadmcontrolplane`; the deprecated v1beta1 ones in `v1beta1_conditions`.
"""

from herd.api.crdgen import CRDSpec, kind_of

from .kubeadmcontrolplane import (
    API_VERSION,
    GROUP,
    KUBEADM_CONTROL_PLANE_CRD,
    VERSION,
    KubeadmControlPlane,
    KubeadmControlPlaneSpec,
    KubeadmControlPlaneStatus,
)
from .kubeadmcontrolplanetemplate import KUBEADM_CONTROL_PLANE_TEMPLATE_CRD, KubeadmControlPlaneTemplate

CRDS: list[CRDSpec] = [KUBEADM_CONTROL_PLANE_CRD, KUBEADM_CONTROL_PLANE_TEMPLATE_CRD]

# The kinds as the runtime addresses them.
KUBEADM_CONTROL_PLANE = kind_of(KUBEADM_CONTROL_PLANE_CRD)
KUBEADM_CONTROL_PLANE_TEMPLATE = kind_of(KUBEADM_CONTROL_PLANE_TEMPLATE_CRD)

__all__ = [
    "API_VERSION", "CRDS", "GROUP", "KUBEADM_CONTROL_PLANE", "KUBEADM_CONTROL_PLANE_CRD",
    "KUBEADM_CONTROL_PLANE_TEMPLATE", "KUBEADM_CONTROL_PLANE_TEMPLATE_CRD", "VERSION",
    "KubeadmControlPlane", "KubeadmControlPlaneSpec", "KubeadmControlPlaneStatus", "KubeadmControlPlaneTemplate",
]

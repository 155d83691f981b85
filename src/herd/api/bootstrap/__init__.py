"""The kubeadm bootstrap provider's API (bootstrap.cluster.x-k8s.io/v1beta2): KubeadmConfig and
KubeadmConfigTemplate.

Condition types and reasons live beside the kind, in `herd.api.bootstrap.kubeadmconfig`; the deprecated
v1beta1 ones in `v1beta1_conditions`. Every part of KubeadmConfigSpec is importable from `kubeadm_types`.
"""

from herd.api.crdgen import CRDSpec, kind_of

from .kubeadm_types import KubeadmConfigSpec
from .kubeadmconfig import API_VERSION, GROUP, KUBEADM_CONFIG_CRD, VERSION, KubeadmConfig, KubeadmConfigStatus
from .kubeadmconfigtemplate import KUBEADM_CONFIG_TEMPLATE_CRD, KubeadmConfigTemplate

CRDS: list[CRDSpec] = [KUBEADM_CONFIG_CRD, KUBEADM_CONFIG_TEMPLATE_CRD]

# The kinds as the runtime addresses them.
KUBEADM_CONFIG = kind_of(KUBEADM_CONFIG_CRD)
KUBEADM_CONFIG_TEMPLATE = kind_of(KUBEADM_CONFIG_TEMPLATE_CRD)

__all__ = [
    "API_VERSION", "CRDS", "GROUP", "KUBEADM_CONFIG", "KUBEADM_CONFIG_CRD", "KUBEADM_CONFIG_TEMPLATE",
    "KUBEADM_CONFIG_TEMPLATE_CRD", "VERSION", "KubeadmConfig",
    "KubeadmConfigSpec", "KubeadmConfigStatus", "KubeadmConfigTemplate",
]

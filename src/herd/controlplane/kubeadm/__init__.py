"""The KubeadmControlPlane provider: a highly available control plane of Machines bootstrapped with kubeadm,
kept at its size and version with etcd-safe scaling, rollout and remediation."""

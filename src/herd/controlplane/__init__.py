"""Control plane providers: the KubeadmControlPlane (`herd.controlplane.kubeadm`)."""

"""Authorization for herd's API server: kube-apiserver's RBAC (rbac.authorization.k8s.io/v1), its default policy,
aggregated ClusterRoles, impersonation and the rules behind the access reviews."""

"""Condition types and reasons of KubeadmConfig in the deprecated v1beta1 format
(status.deprecated.v1beta1.conditions), kept while clients of that API version remain."""

# DataSecretAvailable: the bootstrap data Secret has been generated.
DATA_SECRET_AVAILABLE_V1BETA1_CONDITION = "DataSecretAvailable"
WAITING_FOR_CLUSTER_INFRASTRUCTURE_V1BETA1_REASON = "WaitingForClusterInfrastructure"  # severity Info
DATA_SECRET_GENERATION_FAILED_V1BETA1_REASON = "DataSecretGenerationFailed"  # severity Warning

# CertificatesAvailable: the cluster certificates exist.
CERTIFICATES_AVAILABLE_V1BETA1_CONDITION = "CertificatesAvailable"
CERTIFICATES_GENERATION_FAILED_V1BETA1_REASON = "CertificatesGenerationFailed"  # severity Warning
CERTIFICATES_CORRUPTED_V1BETA1_REASON = "CertificatesCorrupted"  # severity Error

"""Condition types and reasons of KubeadmControlPlane in the deprecated v1beta1 format
(status.deprecated.v1beta1.conditions), kept while clients of that API version remain."""

MACHINES_READY_V1BETA1_CONDITION = "MachinesReady"

CERTIFICATES_AVAILABLE_V1BETA1_CONDITION = "CertificatesAvailable"
CERTIFICATES_GENERATION_FAILED_V1BETA1_REASON = "CertificatesGenerationFailed"  # severity Warning

AVAILABLE_V1BETA1_CONDITION = "Available"
WAITING_FOR_KUBEADM_INIT_V1BETA1_REASON = "WaitingForKubeadmInit"  # severity Info

MACHINES_SPEC_UP_TO_DATE_V1BETA1_CONDITION = "MachinesSpecUpToDate"
ROLLING_UPDATE_IN_PROGRESS_V1BETA1_REASON = "RollingUpdateInProgress"  # severity Warning

RESIZED_V1BETA1_CONDITION = "Resized"
SCALING_UP_V1BETA1_REASON = "ScalingUp"  # severity Info
SCALING_DOWN_V1BETA1_REASON = "ScalingDown"  # severity Info

CONTROL_PLANE_COMPONENTS_HEALTHY_V1BETA1_CONDITION = "ControlPlaneComponentsHealthy"
CONTROL_PLANE_COMPONENTS_UNHEALTHY_V1BETA1_REASON = "ControlPlaneComponentsUnhealthy"  # severity Error
CONTROL_PLANE_COMPONENTS_UNKNOWN_V1BETA1_REASON = "ControlPlaneComponentsUnknown"
CONTROL_PLANE_COMPONENTS_INSPECTION_FAILED_V1BETA1_REASON = "ControlPlaneComponentsInspectionFailed"

MACHINE_API_SERVER_POD_HEALTHY_V1BETA1_CONDITION = "APIServerPodHealthy"
MACHINE_CONTROLLER_MANAGER_POD_HEALTHY_V1BETA1_CONDITION = "ControllerManagerPodHealthy"
MACHINE_SCHEDULER_POD_HEALTHY_V1BETA1_CONDITION = "SchedulerPodHealthy"
MACHINE_ETCD_POD_HEALTHY_V1BETA1_CONDITION = "EtcdPodHealthy"  # stacked etcd only
POD_PROVISIONING_V1BETA1_REASON = "PodProvisioning"  # severity Info
POD_MISSING_V1BETA1_REASON = "PodMissing"  # severity Error
POD_FAILED_V1BETA1_REASON = "PodFailed"  # severity Error
POD_INSPECTION_FAILED_V1BETA1_REASON = "PodInspectionFailed"

ETCD_CLUSTER_HEALTHY_V1BETA1_CONDITION = "EtcdClusterHealthy"
ETCD_CLUSTER_INSPECTION_FAILED_V1BETA1_REASON = "EtcdClusterInspectionFailed"
ETCD_CLUSTER_UNKNOWN_V1BETA1_REASON = "EtcdClusterUnknown"
ETCD_CLUSTER_UNHEALTHY_V1BETA1_REASON = "EtcdClusterUnhealthy"  # severity Error
MACHINE_ETCD_MEMBER_HEALTHY_V1BETA1_CONDITION = "EtcdMemberHealthy"  # stacked etcd only
ETCD_MEMBER_INSPECTION_FAILED_V1BETA1_REASON = "MemberInspectionFailed"
ETCD_MEMBER_UNHEALTHY_V1BETA1_REASON = "EtcdMemberUnhealthy"  # severity Error

MACHINES_CREATED_V1BETA1_CONDITION = "MachinesCreated"
INFRASTRUCTURE_TEMPLATE_CLONING_FAILED_V1BETA1_REASON = "InfrastructureTemplateCloningFailed"  # severity Error
BOOTSTRAP_TEMPLATE_CLONING_FAILED_V1BETA1_REASON = "BootstrapTemplateCloningFailed"  # severity Error
MACHINE_GENERATION_FAILED_V1BETA1_REASON = "MachineGenerationFailed"  # severity Error

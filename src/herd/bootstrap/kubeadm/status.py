"""Pure status functions for a KubeadmConfig (a wire dict): its v1beta2 conditions and the contract fields
`status.dataSecretName` and `status.initialization.dataSecretCreated`. No I/O; table-tested."""

from __future__ import annotations

from herd.api.bootstrap.kubeadmconfig import (
    KUBEADM_CONFIG_CERTIFICATES_AVAILABLE_CONDITION as CERTIFICATES_AVAILABLE,
)
from herd.api.bootstrap.kubeadmconfig import (
    KUBEADM_CONFIG_CERTIFICATES_AVAILABLE_INTERNAL_ERROR_REASON as CERTIFICATES_INTERNAL_ERROR_REASON,
)
from herd.api.bootstrap.kubeadmconfig import (
    KUBEADM_CONFIG_CERTIFICATES_AVAILABLE_REASON as CERTIFICATES_AVAILABLE_REASON,
)
from herd.api.bootstrap.kubeadmconfig import (
    KUBEADM_CONFIG_DATA_SECRET_AVAILABLE_CONDITION as DATA_SECRET_AVAILABLE,
)
from herd.api.bootstrap.kubeadmconfig import (
    KUBEADM_CONFIG_DATA_SECRET_AVAILABLE_REASON as DATA_SECRET_AVAILABLE_REASON,
)
from herd.api.bootstrap.kubeadmconfig import (
    KUBEADM_CONFIG_DATA_SECRET_NOT_AVAILABLE_REASON as DATA_SECRET_NOT_AVAILABLE_REASON,
)
from herd.api.bootstrap.kubeadmconfig import (
    KUBEADM_CONFIG_NOT_READY_REASON,
    KUBEADM_CONFIG_READY_CONDITION,
    KUBEADM_CONFIG_READY_REASON,
    KUBEADM_CONFIG_READY_UNKNOWN_REASON,
)
from herd.runtime import Object
from herd.runtime.conditions import FALSE, TRUE, UNKNOWN, get_condition, set_condition

# Messages a user sees on DataSecretAvailable while the controller waits.
WAITING_FOR_INFRASTRUCTURE = "Waiting for Cluster status.initialization.infrastructureProvisioned to be true"
WAITING_FOR_ENDPOINT = "Waiting for Cluster spec.controlPlaneEndpoint to be set"
WAITING_FOR_CONTROL_PLANE = "Waiting for Cluster control plane to be initialized"
WAITING_FOR_VERSION = "Waiting for Machine spec.version to be set"
CHECK_LOGS = "Please check controller logs for errors"

# Ready summarizes these, in this order.
SUMMARIZED = (DATA_SECRET_AVAILABLE, CERTIFICATES_AVAILABLE)


def mark_data_secret_not_available(config: Object, message: str) -> None:
    """DataSecretAvailable False: the controller waits (the message says for what) or could not write it."""
    set_condition(config, DATA_SECRET_AVAILABLE, FALSE, DATA_SECRET_NOT_AVAILABLE_REASON, message)


def mark_data_secret_available(config: Object) -> None:
    set_condition(config, DATA_SECRET_AVAILABLE, TRUE, DATA_SECRET_AVAILABLE_REASON)


def mark_certificates_available(config: Object) -> None:
    set_condition(config, CERTIFICATES_AVAILABLE, TRUE, CERTIFICATES_AVAILABLE_REASON)


def mark_certificates_internal_error(config: Object, message: str = CHECK_LOGS) -> None:
    """CertificatesAvailable Unknown: the certificates could not be read or generated (details go to the log)."""
    set_condition(config, CERTIFICATES_AVAILABLE, UNKNOWN, CERTIFICATES_INTERNAL_ERROR_REASON, message)


def set_data_secret_created(config: Object, secret_name: str) -> None:
    """The bootstrap contract: status.dataSecretName and status.initialization.dataSecretCreated, and
    DataSecretAvailable True."""
    status = config.setdefault("status", {})
    status["dataSecretName"] = secret_name
    status.setdefault("initialization", {})["dataSecretCreated"] = True
    mark_data_secret_available(config)


def data_secret_created(config: Object) -> bool:
    """Whether the bootstrap data Secret was reported created."""
    return bool(((config.get("status") or {}).get("initialization") or {}).get("dataSecretCreated"))


def set_ready_condition(config: Object) -> None:
    """Ready summarizes DataSecretAvailable and CertificatesAvailable, as upstream's summary does.

    False (NotReady) when one is False, Unknown (ReadyUnknown) when one is Unknown or missing, else True (Ready);
    the message lists the conditions that are not True, one `* Type: message` line each, False first.
    """
    problems: list[tuple[int, str]] = []
    for condition_type in SUMMARIZED:
        condition = get_condition(config, condition_type)
        status = condition.get("status") if condition is not None else UNKNOWN
        if status == TRUE:
            continue
        message = (condition or {}).get("message") or ("Condition not yet reported" if condition is None else "")
        line = f"* {condition_type}: {message}" if message else f"* {condition_type}"
        problems.append((0 if status == FALSE else 1, line))
    if not problems:
        set_condition(config, KUBEADM_CONFIG_READY_CONDITION, TRUE, KUBEADM_CONFIG_READY_REASON)
        return
    problems.sort(key=lambda p: p[0])
    message = "\n".join(line for _, line in problems)
    if problems[0][0] == 0:
        set_condition(config, KUBEADM_CONFIG_READY_CONDITION, FALSE, KUBEADM_CONFIG_NOT_READY_REASON, message)
    else:
        set_condition(config, KUBEADM_CONFIG_READY_CONDITION, UNKNOWN, KUBEADM_CONFIG_READY_UNKNOWN_REASON, message)

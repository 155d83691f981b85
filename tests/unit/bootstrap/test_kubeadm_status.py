"""KubeadmConfig status functions: Paused, DataSecretAvailable, CertificatesAvailable, the Ready summary and the
bootstrap contract fields, as tables of inputs and expected conditions."""

from __future__ import annotations

from typing import Any

import pytest

from herd.bootstrap.kubeadm import status
from herd.runtime.conditions import get_condition


def config(*conditions: tuple[str, str, str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": "cfg", "namespace": "ns", "generation": 2}}
    if annotations:
        obj["metadata"]["annotations"] = annotations
    if conditions:
        obj["status"] = {"conditions": [
            {"type": t, "status": s, "reason": r, "message": m, "lastTransitionTime": "2025-01-01T00:00:00Z",
             "observedGeneration": 2} for t, s, r, m in conditions]}
    return obj


def brief(obj: dict[str, Any], condition_type: str) -> tuple[str, str, str] | None:
    found = get_condition(obj, condition_type)
    return None if found is None else (found["status"], found["reason"], found["message"])


DSA, CA = "DataSecretAvailable", "CertificatesAvailable"


@pytest.mark.parametrize(("conditions", "expected"), [
    # nothing reported yet: Unknown, naming both
    ((), ("Unknown", "ReadyUnknown", "* DataSecretAvailable: Condition not yet reported\n"
                                     "* CertificatesAvailable: Condition not yet reported")),
    # waiting for the cluster: False wins over a missing condition and is listed first
    (((DSA, "False", "NotAvailable", status.WAITING_FOR_INFRASTRUCTURE),),
     ("False", "NotReady", f"* DataSecretAvailable: {status.WAITING_FOR_INFRASTRUCTURE}\n"
                           "* CertificatesAvailable: Condition not yet reported")),
    (((CA, "Unknown", "InternalError", status.CHECK_LOGS), (DSA, "False", "NotAvailable", "x")),
     ("False", "NotReady", f"* DataSecretAvailable: x\n* CertificatesAvailable: {status.CHECK_LOGS}")),
    (((CA, "True", "Available", ""), (DSA, "False", "NotAvailable", "waiting")),
     ("False", "NotReady", "* DataSecretAvailable: waiting")),
    (((CA, "Unknown", "InternalError", status.CHECK_LOGS), (DSA, "True", "Available", "")),
     ("Unknown", "ReadyUnknown", f"* CertificatesAvailable: {status.CHECK_LOGS}")),
    (((CA, "True", "Available", ""), (DSA, "True", "Available", "")), ("True", "Ready", "")),
])
def test_ready_summarizes_data_secret_and_certificates(conditions: tuple[tuple[str, str, str, str], ...],
                                                       expected: tuple[str, str, str]) -> None:
    obj = config(*conditions)
    status.set_ready_condition(obj)
    assert brief(obj, "Ready") == expected


@pytest.mark.parametrize(("mark", "condition_type", "expected"), [
    (lambda o: status.mark_data_secret_not_available(o, "why"), DSA, ("False", "NotAvailable", "why")),
    (status.mark_data_secret_available, DSA, ("True", "Available", "")),
    (status.mark_certificates_available, CA, ("True", "Available", "")),
    (status.mark_certificates_internal_error, CA, ("Unknown", "InternalError", status.CHECK_LOGS)),
])
def test_condition_marks(mark: Any, condition_type: str, expected: tuple[str, str, str]) -> None:
    obj = config()
    mark(obj)
    assert brief(obj, condition_type) == expected
    assert get_condition(obj, condition_type)["observedGeneration"] == 2  # type: ignore[index]


def test_data_secret_created_sets_the_contract_fields() -> None:
    obj = config((DSA, "False", "NotAvailable", "waiting"))
    assert not status.data_secret_created(obj)
    status.set_data_secret_created(obj, "cfg")
    assert obj["status"]["dataSecretName"] == "cfg"
    assert obj["status"]["initialization"] == {"dataSecretCreated": True}
    assert status.data_secret_created(obj)
    assert brief(obj, DSA) == ("True", "Available", "")

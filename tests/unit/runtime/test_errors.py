"""Server Status answers become typed errors."""

from __future__ import annotations

import pytest

from herd.runtime import errors as e


def status(code: int, reason: str, causes: list[dict[str, str]] | None = None) -> dict[str, object]:
    return {"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": f"{reason}!",
            "details": {"causes": causes or []}}


@pytest.mark.parametrize(("code", "reason", "cls"), [
    (404, "NotFound", e.NotFound),
    (409, "AlreadyExists", e.AlreadyExists),
    (409, "Conflict", e.Conflict),
    (410, "Expired", e.Expired),
    (410, "Gone", e.Expired),
    (403, "Forbidden", e.Forbidden),
    (422, "Invalid", e.Invalid),
    (500, "InternalError", e.ServerError),
    (504, "Timeout", e.ServerError),
    (418, "Teapot", e.ApiError),
])
def test_reason_and_code_pick_the_error_type(code: int, reason: str, cls: type[e.ApiError]) -> None:
    error = e.error_from_status(code, status(code, reason))
    assert type(error) is cls
    assert error.code == code and error.message == f"{reason}!"


def test_conflict_and_already_exists_are_different() -> None:
    assert not isinstance(e.error_from_status(409, status(409, "AlreadyExists")), e.Conflict)


def test_invalid_carries_its_causes() -> None:
    error = e.error_from_status(422, status(422, "Invalid", [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.clusterName"}]))
    assert isinstance(error, e.Invalid)
    assert error.causes == [e.Cause("FieldValueRequired", "Required value", "spec.clusterName")]
    assert error.has_cause("FieldValueRequired")


def test_bodies_that_are_not_status_objects_still_give_an_error() -> None:
    assert type(e.error_from_status(404, "404 page not found")) is e.NotFound
    assert e.error_from_status(502, None).message == "HTTP 502"
    assert hash(e.error_from_status(404, None))  # exceptions stay hashable

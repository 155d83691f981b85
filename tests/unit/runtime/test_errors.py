"""Server Status answers become typed errors."""

from __future__ import annotations

import pytest

from herd.runtime.errors import (
    AlreadyExists,
    ApiError,
    Cause,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    error_from_status,
)


def status(code: int, reason: str, causes: list[dict[str, str]] | None = None) -> dict[str, object]:
    return {"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": f"{reason}!",
            "details": {"causes": causes or []}}


@pytest.mark.parametrize(("code", "reason", "cls"), [
    (404, "NotFound", NotFound),
    (409, "AlreadyExists", AlreadyExists),
    (409, "Conflict", Conflict),
    (410, "Expired", Expired),
    (410, "Gone", Expired),
    (403, "Forbidden", Forbidden),
    (422, "Invalid", Invalid),
    (500, "InternalError", ServerError),
    (504, "Timeout", ServerError),
    (418, "Teapot", ApiError),
])
def test_reason_and_code_pick_the_error_type(code: int, reason: str, cls: type[ApiError]) -> None:
    error = error_from_status(code, status(code, reason))
    assert type(error) is cls
    assert error.code == code and error.message == f"{reason}!"


def test_conflict_and_already_exists_are_different() -> None:
    assert not isinstance(error_from_status(409, status(409, "AlreadyExists")), Conflict)


def test_invalid_carries_its_causes() -> None:
    error = error_from_status(422, status(422, "Invalid", [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.clusterName"}]))
    assert isinstance(error, Invalid)
    assert error.causes == [Cause("FieldValueRequired", "Required value", "spec.clusterName")]
    assert error.has_cause("FieldValueRequired")


def test_bodies_that_are_not_status_objects_still_give_an_error() -> None:
    assert type(error_from_status(404, "404 page not found")) is NotFound
    assert error_from_status(502, None).message == "HTTP 502"
    assert hash(error_from_status(404, None))  # exceptions stay hashable

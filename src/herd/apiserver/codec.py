"""Request bodies in (JSON, YAML, protobuf) and responses out (JSON, Table), plus query options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from . import errors
from .bodies import check_decoded, decode_json, decode_yaml
from .jsonutil import dumps
from .objects import WriteOptions
from .protobuf import decode_object

JSON = "application/json"
PROTOBUF = "application/vnd.kubernetes.protobuf"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
_FIELD_VALIDATION = ("Strict", "Warn", "Ignore")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode_body(raw: bytes, content_type: str | None) -> Any:
    """Decode a request body; a missing Content-Type is JSON (the Python client sends none)."""
    mtype = media_type(content_type)
    if mtype == PROTOBUF:
        decoded = decode_object(raw)
        check_decoded(decoded, "protobuf")
        return decoded
    if mtype in ("", JSON, MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH, "*/*"):
        return decode_json(raw) if raw else None
    if mtype in ("application/yaml", "text/yaml", APPLY_PATCH):
        return decode_yaml(raw) if raw else None
    raise errors.unsupported_media_type(mtype)


def json_response(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    response = web.Response(body=dumps(body), status=status, content_type=JSON)
    for warning in warnings or []:
        response.headers.add("Warning", f'299 - "{_header_text(warning)}"')
    return response


def _header_text(text: str) -> str:
    """A warning as a quoted-string: quotes and backslashes escaped, control characters (a field name may
    hold a newline) written as \\u escapes so no header can be split."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(ch if " " <= ch != "\x7f" else f"\\u{ord(ch):04x}" for ch in escaped)


def status_response(exc: errors.StatusError) -> web.Response:
    response = json_response(exc.to_status(), exc.code)
    if exc.retry_after_seconds:
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def success_status(details: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def wants_table(accept: str | None) -> bool:
    """kubectl get asks for `application/json;as=Table;v=v1;g=meta.k8s.io` first."""
    if not accept:
        return False
    for part in accept.split(","):
        params = {p.strip().split("=", 1)[0]: p.strip().split("=", 1)[-1] for p in part.split(";")[1:]}
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return True
    return False


def write_options(query: Mapping[str, str], user: Any, user_agent: str | None = None) -> WriteOptions:
    dry_run = query.get("dryRun", "")
    if dry_run and dry_run != "All":
        raise errors.bad_request(f'dryRun: Unsupported value: "{dry_run}": supported values: "All"')
    validation = query.get("fieldValidation", "") or "Warn"
    if validation not in _FIELD_VALIDATION:
        raise errors.bad_request(
            f'fieldValidation: Unsupported value: "{validation}": supported values: "Ignore", "Strict", "Warn"')
    manager = query.get("fieldManager", "")
    if len(manager) > 128:
        raise errors.bad_request("fieldManager: Too long: may not be more than 128 bytes")
    return WriteOptions(dry_run=dry_run == "All", field_validation=validation, field_manager=manager, user=user,
                        user_agent=user_agent)


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def query_bool(query: Mapping[str, str], name: str) -> bool | None:
    """A boolean query parameter as Go's strconv.ParseBool reads it (None when absent; 400 when unreadable)."""
    value = query.get(name)
    if value is None or value in _FALSE:
        return None if value is None else False
    if value in _TRUE:
        return True
    raise errors.bad_request(f'{name}: invalid value "{value}": strconv.ParseBool: parsing "{value}": '
                             "invalid syntax")


def int_param(query: Mapping[str, str], name: str, default: int = 0) -> int:
    value = query.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"{name}: invalid integer {value!r}") from None

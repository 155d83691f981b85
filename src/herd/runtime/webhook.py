"""Admission webhooks the controller-runtime way: an HTTPS server answering AdmissionReview v1 requests.

    server = WebhookServer(cert_file, key_file, port=0)
    server.register_defaulter("/mutate-cluster-x-k8s-io-v1beta2-machine", default_machine)
    server.register_validator("/validate-cluster-x-k8s-io-v1beta2-machine", validate_machine)
    await server.start()          # server.port is the bound port
    ...
    await server.stop()

A defaulter is `fn(obj, request) -> defaulted obj`; the server answers with the JSONPatch from the object it
received to the one returned (controller-runtime's CustomDefaulter). A validator is `fn(request) -> warnings`
and refuses by raising `WebhookDenied` (controller-runtime's CustomValidator); `WebhookDenied.invalid` builds
the 422 kube-apiserver would answer for a list of `FieldError`s (apimachinery's field.ErrorList).

This module also holds the apimachinery validation primitives webhooks need (qualified names, label values,
DNS subdomains, int-or-percent values): they are what `k8s.io/apimachinery/pkg/util/validation` is to Go.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpatch
import orjson
from aiohttp import web

from .objects import deep_copy

log = logging.getLogger(__name__)

Defaulter = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
Validator = Callable[[dict[str, Any]], list[str]]

REVIEW_API_VERSION = "admission.k8s.io/v1"
# kube-apiserver caps a request body at 3 MiB; a review carries the object twice (object and oldObject).
_MAX_BODY = 16 * 1024 * 1024
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
            422: "Invalid", 429: "TooManyRequests", 500: "InternalError"}

# --- field errors (apimachinery's field.Error) ------------------------------------------------------------------

_OMIT: Any = object()
_CAUSES = {"Invalid value": "FieldValueInvalid", "Required value": "FieldValueRequired", "Forbidden":
           "FieldValueForbidden", "Duplicate value": "FieldValueDuplicate", "Unsupported value":
           "FieldValueNotSupported", "Internal error": "InternalError", "Too long": "FieldValueTooLong"}


def _render(value: Any) -> str:
    # Go's field.Error prints strings quoted, numbers and booleans bare, and structures in full.
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=isinstance(value, dict))


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: `spec.replicas: Invalid value: -1: must be positive`."""

    type: str
    field: str
    detail: str = ""
    value: Any = _OMIT

    @classmethod
    def invalid(cls, field: str, value: Any, detail: str) -> FieldError:
        """The field has a value it may not have."""
        return cls("Invalid value", field, detail, value)

    @classmethod
    def required(cls, field: str, detail: str = "") -> FieldError:
        """The field must be set."""
        return cls("Required value", field, detail)

    @classmethod
    def forbidden(cls, field: str, detail: str) -> FieldError:
        """The field may not be set (or changed) this way."""
        return cls("Forbidden", field, detail)

    @classmethod
    def internal(cls, field: str, detail: str) -> FieldError:
        """The field could not be checked."""
        return cls("Internal error", field, detail)

    @property
    def body(self) -> str:
        """The message without the field path, as `Status.details.causes[].message` carries it."""
        text = self.type if self.value is _OMIT or self.type != "Invalid value" else \
            f"{self.type}: {_render(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"

    def cause(self) -> dict[str, str]:
        """The `Status.details.causes[]` entry."""
        return {"reason": _CAUSES.get(self.type, self.type), "message": self.body, "field": self.field}


class WebhookDenied(Exception):
    """Raised by a defaulter or validator to refuse the request; becomes `allowed: false` with a Status."""

    def __init__(self, message: str, code: int = 403, causes: Sequence[FieldError | Mapping[str, str]] = (), *,
                 reason: str | None = None, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason or _REASONS.get(code, "Forbidden")
        self.causes = [c.cause() if isinstance(c, FieldError) else dict(c) for c in causes]
        self.details = dict(details or {})

    @classmethod
    def invalid(cls, group: str, kind: str, name: str, errors: Sequence[FieldError]) -> WebhookDenied:
        """The 422 Invalid that apierrors.NewInvalid builds: `Kind.group "name" is invalid: <errors>`."""
        texts = list(dict.fromkeys(str(e) for e in errors))  # an aggregate drops repeated messages
        summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
        qualified = f"{kind}.{group}" if group else kind
        return cls(f'{qualified} "{name}" is invalid: {summary}', 422, errors,
                   details={"name": name, "group": group, "kind": kind})

    def status(self) -> dict[str, Any]:
        """The `metav1.Status` of the refusal."""
        details = dict(self.details)
        if self.causes:
            details["causes"] = self.causes
        status: dict[str, Any] = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                                  "message": self.message, "reason": self.reason, "code": self.code}
        if details:
            status["details"] = details
        return status


# --- apimachinery validation primitives -------------------------------------------------------------------------

_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PERCENT = re.compile(r"^[+-]?[0-9]+%$")
_TOTAL_ANNOTATION_SIZE = 256 * 1024


def dns1123_subdomain_problems(value: str) -> list[str]:
    """Why `value` is not a DNS-1123 subdomain (an object name): empty when it is one."""
    problems = []
    if len(value) > 253:
        problems.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(value):
        problems.append("a lowercase RFC 1123 subdomain must be lowercase letters, digits, '-' and '.', starting "
                        "and ending with a letter or digit")
    return problems


def qualified_name_problems(value: str) -> list[str]:
    """Why `value` is not a qualified name (a label or annotation key such as `example.com/name`)."""
    prefix, _, name = value.rpartition("/")
    if "/" in prefix:
        return ["a qualified name is an optional DNS subdomain prefix and '/', then a name"]
    problems = [f"prefix part {p}" for p in dns1123_subdomain_problems(prefix)] if "/" in value else []
    if not name:
        problems.append("name part must not be empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    if name and not _NAME_PART.match(name):
        problems.append("name part must be letters, digits, '-', '_' and '.', starting and ending with a letter "
                        "or digit")
    return problems


def label_value_problems(value: str) -> list[str]:
    """Why `value` is not a valid label value: empty when it is one."""
    problems = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _LABEL_VALUE.match(value):
        problems.append("a label value must be empty or letters, digits, '-', '_' and '.', starting and ending "
                        "with a letter or digit")
    return problems


def validate_labels(labels: Any, field: str) -> list[FieldError]:
    """metav1validation.ValidateLabels: every key a qualified name, every value a label value."""
    errors: list[FieldError] = []
    for key, value in labels.items() if isinstance(labels, dict) else ():
        errors += [FieldError.invalid(field, key, p) for p in qualified_name_problems(str(key))]
        if isinstance(value, str):
            errors += [FieldError.invalid(field, value, p) for p in label_value_problems(value)]
    return errors


def validate_annotations(annotations: Any, field: str) -> list[FieldError]:
    """ValidateAnnotations: every key a qualified name (case-insensitive), at most 256 KiB in total."""
    if not isinstance(annotations, dict):
        return []
    errors = [FieldError.invalid(field, key, p) for key in annotations
              for p in qualified_name_problems(str(key).lower())]
    size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    if size > _TOTAL_ANNOTATION_SIZE:
        errors.append(FieldError("Too long", field, f"may not be more than {_TOTAL_ANNOTATION_SIZE} bytes"))
    return errors


def int_or_percent_problem(value: Any) -> str | None:
    """Why `value` is not an int-or-string holding a number or a percentage ("25%"); None when it is."""
    if isinstance(value, str) and not _PERCENT.match(value):
        return "must be an integer or a percentage such as \"25%\""
    return None


# --- the server -------------------------------------------------------------------------------------------------


def _review(uid: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "response": {"uid": uid, **response}}


def _denied(uid: str, exc: WebhookDenied) -> dict[str, Any]:
    return _review(uid, {"allowed": False, "status": exc.status()})


class WebhookServer:
    """An HTTPS server for mutating and validating admission webhooks, plus `/healthz`."""

    def __init__(self, cert_file: str | Path, key_file: str | Path, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._context.load_cert_chain(str(cert_file), str(key_file))
        self.host = host
        self._requested_port = port
        self._port = 0
        self._defaulters: dict[str, Defaulter] = {}
        self._validators: dict[str, Validator] = {}
        self._runner: web.AppRunner | None = None

    # ---- registration ---------------------------------------------------------------------------------------
    def register_defaulter(self, path: str, fn: Defaulter) -> None:
        """Serve a mutating webhook at `path`; `fn` returns the defaulted object."""
        self._check_path(path)
        self._defaulters[path] = fn

    def register_validator(self, path: str, fn: Validator) -> None:
        """Serve a validating webhook at `path`; `fn` returns warnings or raises WebhookDenied."""
        self._check_path(path)
        self._validators[path] = fn

    def _check_path(self, path: str) -> None:
        if not path.startswith("/") or path == "/healthz":
            raise ValueError(f"invalid webhook path {path!r}")
        if path in self._defaulters or path in self._validators:
            raise ValueError(f"a webhook is already registered at {path}")
        if self._runner is not None:
            raise RuntimeError("register webhooks before starting the server")

    @property
    def paths(self) -> list[str]:
        """Every registered webhook path."""
        return sorted([*self._defaulters, *self._validators])

    # ---- lifetime ---------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port (0 before `start`)."""
        return self._port

    async def start(self) -> None:
        """Bind and serve; returns once the socket listens."""
        if self._runner is not None:
            raise RuntimeError("the webhook server is already running")
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_post("/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self._requested_port, ssl_context=self._context).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        log.info("webhook server listening on https://%s:%d", self.host, self._port)

    async def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> WebhookServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # ---- requests ---------------------------------------------------------------------------------------------
    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        if path not in self._defaulters and path not in self._validators:
            return web.Response(status=404, text=f"no webhook at {path}\n")
        if request.content_type != "application/json":
            return web.json_response(_denied("", WebhookDenied(
                f"content type {request.content_type!r} is not supported, expected application/json", 400)))
        try:
            review = orjson.loads(await request.read())
        except ValueError:
            return web.json_response(_denied("", WebhookDenied("the request body is not JSON", 400)))
        req = review.get("request") if isinstance(review, dict) else None
        if not isinstance(review, dict) or review.get("apiVersion") != REVIEW_API_VERSION or \
                review.get("kind") != "AdmissionReview" or not isinstance(req, dict):
            return web.json_response(_denied("", WebhookDenied(
                f"expected an AdmissionReview of {REVIEW_API_VERSION} with a request", 400)))
        uid = str(req.get("uid") or "")
        return web.Response(body=orjson.dumps(self.review(path, uid, req)), content_type="application/json")

    def review(self, path: str, uid: str, req: dict[str, Any]) -> dict[str, Any]:
        """The AdmissionReview answer to one request (exposed for tests that need no sockets)."""
        try:
            if path in self._defaulters:
                return _review(uid, self._default(self._defaulters[path], req))
            warnings = self._validators[path](req)
            return _review(uid, {"allowed": True, **({"warnings": list(warnings)} if warnings else {})})
        except WebhookDenied as exc:
            log.debug("webhook %s denied %s %s: %s", path, req.get("operation"), req.get("name"), exc.message)
            return _denied(uid, exc)
        except Exception:
            # A bug in a webhook must not leak a traceback to the API client: log it, refuse with a 500.
            log.exception("webhook %s failed on %s %s", path, req.get("operation"), req.get("name"))
            return _denied(uid, WebhookDenied(f"internal error in the webhook at {path}", 500))

    @staticmethod
    def _default(fn: Defaulter, req: dict[str, Any]) -> dict[str, Any]:
        obj = req.get("object")
        # As in controller-runtime, defaulting never runs on DELETE (there is nothing to store).
        if req.get("operation") == "DELETE" or not isinstance(obj, dict):
            return {"allowed": True}
        original = deep_copy(obj)  # the defaulter may change `obj`; diff against a private copy
        defaulted = fn(obj, req)
        if defaulted == original:  # the usual case, and a dict comparison costs a fraction of a diff
            return {"allowed": True}
        ops = jsonpatch.make_patch(original, defaulted).patch
        if not ops:
            return {"allowed": True}
        patch = base64.b64encode(json.dumps(ops).encode()).decode()
        return {"allowed": True, "patchType": "JSONPatch", "patch": patch}

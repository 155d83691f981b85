"""Request bodies read and decoded within limits, so no request can exhaust the server.

Limits, as kube-apiserver's where it has one:
- a request body of at most 3 MiB (kube-apiserver's MaxRequestBodyBytes), else 413;
- a stored object of at most 1.5 MiB (etcd's request limit), else 413;
- YAML decoded with go-yaml's alias budget (a document made mostly of alias expansions is refused), so a
  few hundred bytes of nested anchors cannot expand into gigabytes;
- JSON and YAML nested at most `MAX_NESTING_DEPTH` levels (kube allows 10,000; herd's encoder and
  recursive validators need a smaller bound, far above any real object's ~30 levels);
- integers within int64, as Go decodes them (orjson would silently turn larger ones into floats).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import yaml
from aiohttp import web

from . import errors

MAX_REQUEST_BYTES = 3 * 1024 * 1024
MAX_OBJECT_BYTES = 1536 * 1024
MAX_NESTING_DEPTH = 128
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# every digit as "0", everything else as " ": a run of 19 zeros is a number that may leave int64 (found at
# memchr speed; a regular expression costs ~10 µs per KiB)
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
# go-yaml's alias budget: below 400,000 decoded nodes up to 99% may come from aliases, above 4,000,000
# only 10%, linearly in between; documents with few aliases or few nodes always pass.
_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000


def too_large(message: str) -> errors.StatusError:
    return errors.StatusError(413, "RequestEntityTooLarge", f"Request entity too large: {message}")


async def read_limited(request: web.BaseRequest) -> web.BaseRequest:
    """The request with its body read (and cached for later `read()`s), refusing bodies over the limit."""
    length = request.content_length
    if length is not None and length > MAX_REQUEST_BYTES:
        raise too_large(f"limit is {MAX_REQUEST_BYTES}")
    # the server makes its requests with this limit (`GuardedServer`); a clone costs ~3% of a create
    limited = request if request.client_max_size > MAX_REQUEST_BYTES \
        else request.clone(client_max_size=MAX_REQUEST_BYTES + 1)
    try:
        await limited.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large(f"limit is {MAX_REQUEST_BYTES}") from None
    return limited


def check_object_size(encoded_length: int) -> None:
    if encoded_length > MAX_OBJECT_BYTES:
        raise too_large(f"the object is {encoded_length} bytes, the limit is {MAX_OBJECT_BYTES}")


# ---- JSON ------------------------------------------------------------------------------------------
def decode_json(raw: bytes) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"the request body is not valid JSON: {exc}") from None
    if raw.count(b"{") + raw.count(b"[") <= MAX_NESTING_DEPTH and b"0" * 19 not in raw.translate(_DIGITS_AS_ZERO):
        return value  # too few brackets to nest too deeply, no number long enough to leave int64: no walk
    if check_decoded(value, "json"):
        # orjson turns integers beyond 64 bits into floats: find out whether the body wrote one
        try:
            json.loads(raw, parse_int=_int64)
        except ValueError as exc:
            raise errors.bad_request(str(exc)) from None
    return value


def _int64(literal: str) -> int:
    value = int(literal)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"json: cannot unmarshal number {literal} into Go value of type int64")
    return value


def check_decoded(value: Any, syntax: str) -> bool:
    """Refuse values nested too deeply or integers out of int64 range.

    Returns whether `value` holds a float that may have been an integer literal beyond 64 bits.
    """
    suspicious = False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, int) and not isinstance(item, bool) and not INT64_MIN <= item <= INT64_MAX:
                raise errors.bad_request(f"{syntax}: cannot unmarshal number {item} into Go value of type int64")
            if isinstance(item, float) and abs(item) > INT64_MAX and item.is_integer():
                suspicious = True
            continue
        if depth > MAX_NESTING_DEPTH:
            raise errors.bad_request(f"the request body is nested too deeply: {syntax}: exceeded max depth of "
                                     f"{MAX_NESTING_DEPTH}")
        stack.extend((child, depth + 1) for child in children)
    return suspicious


# ---- YAML ------------------------------------------------------------------------------------------
class _Loader(yaml.CSafeLoader):
    """Safe YAML with JSON's data model: timestamps stay strings, as YAML-to-JSON conversion keeps them."""


def _as_text(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


for _tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
    yaml.add_constructor(_tag, _as_text, Loader=_Loader)


def _allowed_alias_ratio(decoded: int) -> float:
    if decoded <= _ALIAS_RATIO_LOW:
        return 0.99
    if decoded >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)


def _check_yaml_shape(raw: bytes) -> None:
    """One pass over the parser's events, before anything is built: nesting depth and alias expansion.

    Sizes are counted as if aliases were expanded (each node once per appearance), without expanding them.
    """
    open_sizes: list[list[Any]] = []  # [expanded size so far, anchor] per open collection
    anchored: dict[str, int] = {}
    decoded = from_aliases = 0

    def finish(size: int, anchor: str | None) -> None:
        nonlocal decoded
        if anchor:
            anchored[anchor] = size
        if open_sizes:
            open_sizes[-1][0] += size
        else:
            decoded += size

    for event in yaml.parse(raw, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.ScalarEvent):
            finish(1, event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            size = anchored.get(event.anchor or "", 1)
            from_aliases += size
            finish(size, None)
        elif isinstance(event, yaml.CollectionStartEvent):
            open_sizes.append([1, event.anchor])
            if len(open_sizes) > MAX_NESTING_DEPTH:
                raise errors.bad_request(
                    f"error converting YAML to JSON: yaml: exceeded max depth of {MAX_NESTING_DEPTH}")
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor = open_sizes.pop()
            finish(size, anchor)
    total = decoded + from_aliases  # an alias's nodes count as decoded too
    if from_aliases > 100 and total > 1000 and from_aliases / total > _allowed_alias_ratio(total):
        raise errors.bad_request("error converting YAML to JSON: yaml: document contains excessive aliasing")


def decode_yaml(raw: bytes) -> Any:
    try:
        _check_yaml_shape(raw)
        value = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error converting YAML to JSON: {exc}") from None
    except ValueError:  # an integer literal past Python's digit limit for int(str): far beyond int64 anyway
        raise errors.bad_request("yaml: cannot unmarshal number into Go value of type int64") from None
    value = _string_keys(value)
    check_decoded(value, "yaml")
    return value


def _string_keys(value: Any) -> Any:
    """JSON objects have string keys; YAML may use numbers, booleans or null (converted as YAML-to-JSON does)."""
    if isinstance(value, dict):
        return {_key_text(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_string_keys(v) for v in value]
    if isinstance(value, set):
        return {_key_text(k): None for k in value}
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return str(key)
    raise errors.bad_request(f"error converting YAML to JSON: unsupported map key of type {type(key).__name__}")

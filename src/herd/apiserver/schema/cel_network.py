"""Kubernetes' CEL URL, IP and CIDR libraries.

- `url(s)` / `isURL(s)` accept what Go's `url.ParseRequestURI` accepts (an absolute URL, or an absolute path);
  `getScheme`, `getHost` (with the port, an IPv6 host in brackets), `getHostname`, `getPort`,
  `getEscapedPath` and `getQuery` (a map of lists) read it.
- `ip(s)` / `isIP(s)` accept IPv4 and IPv6 addresses without a zone and not IPv4-mapped (as kube's library);
  `family`, `isUnspecified`, `isLoopback`, `isLinkLocalMulticast`, `isLinkLocalUnicast`, `isGlobalUnicast`
  follow Go's `netip.Addr` methods; `ip.isCanonical(s)` tells whether `s` is the canonical spelling.
- `cidr(s)` / `isCIDR(s)`; `containsIP`, `containsCIDR`, `ip()` (the address as written), `masked()`,
  `prefixLength()`. `string()` of an IP or CIDR is its canonical text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from herd.apiserver.schema.cel_types import CelError, tagged, untag

URL, IP, CIDR = "@url", "@ip", "@cidr"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


# ------------------------------------------------------------------------------------------------ URL
def _url_problem(text: str) -> str:
    if not text:
        return "empty url"
    if any(ord(c) < 0x20 or c == "\x7f" or c == " " for c in text):
        return "invalid character in URL"
    if text.startswith("/"):
        return ""
    scheme, colon, _ = text.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        return "invalid URI for request"
    return ""


def url(text: str) -> dict[str, str]:
    problem = _url_problem(text)
    if problem:
        raise CelError(f"URL parse error during conversion from string: parse {text!r}: {problem}")
    return tagged(URL, text)


def is_url(text: Any) -> bool:
    return isinstance(text, str) and not _url_problem(text)


def _url(value: Any) -> str:
    text = untag(URL, value)
    if text is None:
        raise CelError("no such overload: expected a URL")
    return text


def _host_port(value: Any) -> tuple[str, str]:
    """(host as written, port) of the URL's authority, user info dropped."""
    netloc = urlsplit(_url(value)).netloc.rpartition("@")[2]
    if netloc.startswith("["):
        host, _, rest = netloc.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else ""
    host, colon, port = netloc.rpartition(":")
    return (host, port) if colon and port.isdigit() else (netloc, "")


def get_scheme(value: Any) -> str:
    return urlsplit(_url(value)).scheme


def get_host(value: Any) -> str:
    host, port = _host_port(value)
    return f"{host}:{port}" if port else host


def get_hostname(value: Any) -> str:
    return _host_port(value)[0].strip("[]")


def get_port(value: Any) -> str:
    return _host_port(value)[1]


def get_escaped_path(value: Any) -> str:
    return quote(urlsplit(_url(value)).path, safe="/:@!$&'()*+,;=-._~%")


def get_query(value: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(_url(value)).query, keep_blank_values=True)


# ------------------------------------------------------------------------------------------------ IP
def _parse_ip(text: Any) -> tuple[_Address | None, str]:
    if not isinstance(text, str):
        return None, "expected a string"
    if "%" in text:
        return None, "IP address with zone value is not allowed"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None, f"ParseAddr({text!r}): unable to parse IP"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return None, "IPv4-mapped IPv6 address is not allowed"
    return address, ""


def ip(value: Any) -> dict[str, str]:
    """`ip(string)`, or `cidr.ip()`: the address as written in the CIDR."""
    inner = untag(CIDR, value)
    if inner is not None:
        return tagged(IP, str(ipaddress.ip_interface(inner).ip))
    address, problem = _parse_ip(value)
    if address is None:
        raise CelError(f"IP Address {value!r} parse error during conversion from string: {problem}")
    return tagged(IP, str(address))


def is_ip(text: Any) -> bool:
    return _parse_ip(text)[0] is not None


def is_canonical(text: Any) -> bool:
    address, problem = _parse_ip(text)
    if address is None:
        raise CelError(f"IP Address {text!r} parse error during conversion from string: {problem}")
    return bool(str(address) == text)


def _ip(value: Any) -> _Address:
    text = untag(IP, value)
    if text is None:
        raise CelError("no such overload: expected an IP address")
    return ipaddress.ip_address(text)


def family(value: Any) -> int:
    return _ip(value).version


def is_unspecified(value: Any) -> bool:
    return _ip(value).is_unspecified


def is_loopback(value: Any) -> bool:
    return _ip(value).is_loopback


def is_link_local_multicast(value: Any) -> bool:
    address = _ip(value)
    if address.version == 4:
        return address in ipaddress.ip_network("224.0.0.0/24")
    return address in ipaddress.ip_network("ff02::/16")


def is_link_local_unicast(value: Any) -> bool:
    address = _ip(value)
    network = "169.254.0.0/16" if address.version == 4 else "fe80::/10"
    return address in ipaddress.ip_network(network)


def is_global_unicast(value: Any) -> bool:
    """As Go's: anything but unspecified, loopback, multicast, link-local unicast and the IPv4 broadcast."""
    address = _ip(value)
    if address.is_unspecified or address.is_loopback or address.is_multicast or is_link_local_unicast(value):
        return False
    return not (address.version == 4 and address == ipaddress.IPv4Address("255.255.255.255"))


# ------------------------------------------------------------------------------------------------ CIDR
def _parse_cidr(text: Any) -> tuple[_Interface | None, str]:
    if not isinstance(text, str) or "/" not in text:
        return None, "no '/'"
    address, problem = _parse_ip(text.partition("/")[0])
    if address is None:
        return None, problem
    bits = text.partition("/")[2]
    if not bits.isdigit() or (len(bits) > 1 and bits.startswith("0")) or int(bits) > address.max_prefixlen:
        return None, "bad bits after slash: " + repr(bits)
    return ipaddress.ip_interface(text), ""


def cidr(text: Any) -> dict[str, str]:
    interface, problem = _parse_cidr(text)
    if interface is None:
        raise CelError(f"network address {text!r} parse error during conversion from string: {problem}")
    return tagged(CIDR, str(interface))


def is_cidr(text: Any) -> bool:
    return _parse_cidr(text)[0] is not None


def _cidr(value: Any) -> _Interface:
    text = untag(CIDR, value)
    if text is None:
        raise CelError("no such overload: expected a CIDR")
    return ipaddress.ip_interface(text)


def contains_ip(value: Any, other: Any) -> bool:
    address = _ip(ip(other) if isinstance(other, str) else other)
    return address in _cidr(value).network


def contains_cidr(value: Any, other: Any) -> bool:
    inner = _cidr(cidr(other) if isinstance(other, str) else other).network
    outer = _cidr(value).network
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def masked(value: Any) -> dict[str, str]:
    return tagged(CIDR, str(_cidr(value).network))


def prefix_length(value: Any) -> int:
    return _cidr(value).network.prefixlen


def string(value: Any) -> str:
    """`string()` of an IP or a CIDR (CEL's own conversions handle every other type before this is called)."""
    for tag in (IP, CIDR):
        text = untag(tag, value)
        if text is not None:
            return text
    raise CelError("no such overload: string")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "url": url, "isURL": is_url, "getScheme": get_scheme, "getHost": get_host, "getHostname": get_hostname,
    "getPort": get_port, "getEscapedPath": get_escaped_path, "getQuery": get_query,
    "ip": ip, "isIP": is_ip, "ip.isCanonical": is_canonical, "family": family, "isUnspecified": is_unspecified,
    "isLoopback": is_loopback, "isLinkLocalMulticast": is_link_local_multicast,
    "isLinkLocalUnicast": is_link_local_unicast, "isGlobalUnicast": is_global_unicast,
    "cidr": cidr, "isCIDR": is_cidr, "containsIP": contains_ip, "containsCIDR": contains_cidr, "masked": masked,
    "prefixLength": prefix_length, "string": string,
}

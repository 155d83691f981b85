"""The Kubernetes CEL libraries herd adds to the evaluator: quantity, URL, IP, CIDR and format, each with kube's
results for valid input and a one-line evaluation error (never a server error) for invalid input."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.schema.cel import compile_rule, evaluate

PASSING = [
    # quantity
    ('quantity(self).isGreaterThan(quantity("1Gi"))', "2Gi"),
    ('quantity(self) == quantity("1024Mi")', "1Gi"),
    ('quantity(self).add(quantity("500m")).asApproximateFloat() == 1.5', "1"),
    ("quantity(self).sub(1).asInteger() == 0 && quantity(self).isInteger()", "1"),
    ('!quantity(self).isInteger() && quantity(self).compareTo(quantity("1")) == -1', "500m"),
    ('quantity(self).sign() == -1 && quantity(self).isLessThan(quantity("0"))', "-2k"),
    ("isQuantity(self)", "1e3"),
    ("!isQuantity(self)", "1.2.3"),
    # URL
    ('url(self).getScheme() == "https" && url(self).getHost() == "example.com:8443"', "https://u@example.com:8443/x"),
    ('url(self).getHostname() == "example.com" && url(self).getPort() == "8443"', "https://example.com:8443/x"),
    ('url(self).getHostname() == "::1" && url(self).getHost() == "[::1]:80"', "http://[::1]:80/"),
    ('url(self).getQuery() == {"x": ["1", "2"], "y": [""]}', "https://h/p?x=1&x=2&y="),
    ('url(self).getEscapedPath() == "/a%20b"', "https://h/a%20b"),
    ("isURL(self)", "/absolute/path"),
    ("!isURL(self)", "relative/path"),
    # IP
    ("ip(self).family() == 4 && ip(self).isGlobalUnicast()", "8.8.8.8"),
    ("ip(self).family() == 6 && ip(self).isLoopback()", "::1"),
    ("ip(self).isUnspecified()", "0.0.0.0"),
    ("ip(self).isLinkLocalUnicast() && !ip(self).isGlobalUnicast()", "fe80::1"),
    ("ip(self).isLinkLocalMulticast()", "224.0.0.5"),
    ('ip(self) == ip("2001:db8::1")', "2001:db8:0::1"),
    ("!ip.isCanonical(self)", "2001:db8:0::1"),
    ("ip.isCanonical(self)", "2001:db8::1"),
    ('string(ip(self)) == "2001:db8::1"', "2001:DB8::1"),
    ("!isIP(self) && isIP('10.0.0.1')", "::ffff:1.2.3.4"),
    ("!isIP(self)", "fe80::1%eth0"),
    # CIDR
    ('cidr(self).containsIP("10.1.2.3") && cidr(self).containsIP(ip("10.0.0.1"))', "10.0.0.0/8"),
    ('cidr(self).containsCIDR("10.1.0.0/16") && !cidr(self).containsCIDR(cidr("11.0.0.0/16"))', "10.0.0.0/8"),
    ('string(cidr(self).masked()) == "192.168.0.0/24" && cidr(self).ip() == ip("192.168.0.1")', "192.168.0.1/24"),
    ("cidr(self).prefixLength() == 64", "2001:db8::/64"),
    ("isCIDR(self) && !isCIDR('10.0.0.0/33') && !isCIDR('10.0.0.0')", "10.0.0.0/8"),
    # format
    ("!format.dns1123Label().validate(self).hasValue()", "my-name"),
    ("format.dns1123Label().validate(self).hasValue()", "My_Name"),
    ("format.dns1123SubdomainPrefix().validate(self) == optional.none()", "web-"),
    ('format.named("uuid").value().validate(self).hasValue()', "not-a-uuid"),
    ('!format.named("nosuch").hasValue() && format.named("labelValue").hasValue()', "x"),
    ("!format.qualifiedName().validate(self).hasValue()", "example.com/my.name"),
    ("format.labelValue().validate(self).value().size() == 1", "-bad-"),
    ("!format.byte().validate(self).hasValue() && format.byte().validate('***').hasValue()", "aGVsbG8="),
]


def run(rule: str, value: Any) -> tuple[str, str] | None:
    return evaluate(compile_rule({"rule": rule}), value, None, False).failure


@pytest.mark.parametrize(("rule", "value"), PASSING)
def test_library_functions_answer_as_kubernetes_does(rule: str, value: str) -> None:
    assert run(rule, value) is None


def test_format_errors_are_kubernetes_messages() -> None:
    messages = evaluate(compile_rule({"rule": "false", "messageExpression":
                                      "format.dns1123Label().validate(self).value()[0]"}), "My_Name", None,
                        False).failure
    assert messages == ("FieldValueInvalid", "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                        "characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', "
                        " or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


@pytest.mark.parametrize(("rule", "value", "error"), [
    ("quantity(self).sign() == 1", "1.2.3", "quantities must match the regular expression"),
    ("quantity(self).asInteger() == 0", "500m", "cannot convert value to integer"),
    ("url(self).getHost() == ''", "relative", "URL parse error during conversion from string"),
    ("ip(self).family() == 4", "1.2.3.4%eth0", "IP address with zone value is not allowed"),
    ("ip(self).family() == 6", "::ffff:1.2.3.4", "IPv4-mapped IPv6 address is not allowed"),
    ("cidr(self).prefixLength() == 8", "10.0.0.0/40", "parse error during conversion from string"),
])
def test_invalid_input_is_a_one_line_evaluation_error(rule: str, value: str, error: str) -> None:
    failure = run(rule, value)
    assert failure is not None and failure[0] == "FieldValueInvalid"
    assert failure[1].startswith(f"{rule}: ") and error in failure[1] and "\n" not in failure[1]

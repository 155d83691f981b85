"""String formats accept what kube-apiserver accepts and refuse what it refuses."""

from __future__ import annotations

import pytest

from herd.apiserver.schema.formats import number_format_checker, string_format_checker

VALID = [
    ("byte", "aGVsbG8="),
    ("byte", "aGVsbG8h"),
    ("date", "2024-02-29"),
    ("date-time", "2024-01-02T03:04:05Z"),
    ("date-time", "2024-01-02T03:04:05.123+02:00"),
    ("datetime", "2024-01-02t03:04:05z"),
    ("uri", "https://example.com:6443/path?q=1"),
    ("uri", "/absolute/path"),
    ("uri", "mailto:someone@example.com"),
    ("email", "someone@example.com"),
    ("email", "Some One <someone@example.com>"),
    ("hostname", "example.com"),
    ("hostname", "localhost"),
    ("hostname", "my-host.example.com"),
    ("hostname", "münchen.de"),
    ("ipv4", "10.0.0.1"),
    ("ipv6", "fd00::1"),
    ("cidr", "10.0.0.0/8"),
    ("cidr", "10.1.2.3/8"),
    ("cidr", "fd00::/64"),
    ("mac", "01:23:45:67:89:ab"),
    ("mac", "01-23-45-67-89-AB"),
    ("mac", "0123.4567.89ab"),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000"),
    ("uuid4", "123e4567-e89b-42d3-a456-426614174000"),
    ("duration", "1h30m"),
    ("duration", "300ms"),
    ("duration", "0"),
    ("duration", "3 days"),
    ("hexcolor", "#ffaa00"),
    ("rgbcolor", "rgb(255, 0, 10)"),
    ("password", ""),
    ("isbn10", "0-306-40615-2"),
    ("isbn13", "978-0-306-40615-7"),
    ("creditcard", "4111 1111 1111 1111"),
    ("ssn", "123-45-6789"),
    ("bsonobjectid", "507f1f77bcf86cd799439011"),
]

INVALID = [
    ("byte", ""),
    ("byte", "not base64!"),
    ("date", "2023-02-29"),
    ("date", "2024-1-2"),
    ("date-time", "2024-01-02"),
    ("date-time", "2024-01-02T25:00:00Z"),
    ("date-time", "2024-01-02T03:04:05"),
    ("uri", "relative/path"),
    ("uri", ""),
    ("email", "not-an-email"),
    ("hostname", "-leading.example.com"),
    ("hostname", "under_score.com"),
    ("ipv4", "10.0.0.256"),
    ("ipv4", "fd00::1"),
    ("ipv6", "10.0.0.1"),
    ("cidr", "10.0.0.0"),
    ("cidr", "10.0.0.0/33"),
    ("mac", "01:23:45:67:89"),
    ("uuid", "not-a-uuid"),
    ("uuid4", "123e4567-e89b-12d3-a456-426614174000"),
    ("duration", "forever"),
    ("duration", "10"),
    ("hexcolor", "#ggg"),
    ("rgbcolor", "rgb(256,0,0)"),
    ("isbn10", "0-306-40615-3"),
    ("creditcard", "4111 1111 1111 1112"),
    ("ssn", "123456789"),
]


@pytest.mark.parametrize(("fmt", "value"), VALID)
def test_well_formed_values_pass_their_format(fmt: str, value: str) -> None:
    checker = string_format_checker(fmt)
    assert checker is not None
    assert checker(value)


@pytest.mark.parametrize(("fmt", "value"), INVALID)
def test_malformed_values_fail_their_format(fmt: str, value: str) -> None:
    checker = string_format_checker(fmt)
    assert checker is not None
    assert not checker(value)


@pytest.mark.parametrize("fmt", ["int-or-string", "k8s-something", "quantity", "int32", ""])
def test_formats_kube_does_not_check_for_strings_are_ignored(fmt: str) -> None:
    assert string_format_checker(fmt) is None


@pytest.mark.parametrize(
    ("fmt", "value", "fits"),
    [
        ("int32", 2**31 - 1, True),
        ("int32", 2**31, False),
        ("int32", -(2**31), True),
        ("int64", 2**63, False),
        ("float", 3.4e38, True),
        ("float", 3.5e38, False),
        ("double", 1e308, True),
    ],
)
def test_number_formats_are_range_checks(fmt: str, value: float, fits: bool) -> None:
    entry = number_format_checker(fmt)
    assert entry is not None
    assert entry[1](value) is fits

"""Fixtures the API server's unit tests share."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """umask 0, so that only the modes files are created with protect them (which is what such tests prove)."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)

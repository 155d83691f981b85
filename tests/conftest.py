"""Planes shared by the end-to-end and integration tests: `herd serve` in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.plane import ServedPlane, management_and_workload, serving


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ServedPlane]:
    """A plane of this test's own."""
    with serving(tmp_path) as fresh:
        yield fresh


@pytest.fixture(scope="module")
def shared_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlane]:
    """A plane the tests of one module share."""
    with serving(tmp_path_factory.mktemp("plane")) as shared:
        yield shared


@pytest.fixture(scope="module")
def planes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedPlane, ServedPlane]]:
    """A management plane and a workload cluster's API server, shared by the tests of one module."""
    with management_and_workload(tmp_path_factory.mktemp("planes")) as both:
        yield both

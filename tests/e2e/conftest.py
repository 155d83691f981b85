"""End-to-end fixtures: `herd serve` in a subprocess and the real kubectl against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from herd_plane import ServedPlane, start_plane


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ServedPlane]:
    served = start_plane(tmp_path / "data", tmp_path / "kubectl-cache")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def shared_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlane]:
    base = tmp_path_factory.mktemp("plane")
    served = start_plane(base / "data", base / "kubectl-cache")
    yield served
    served.stop()

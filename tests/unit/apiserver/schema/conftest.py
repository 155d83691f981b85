"""Shared fixtures for the schema tests: the upstream Cluster API CRDs (read-only reference data)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

UPSTREAM_CRDS = Path("/work/shared/upstream/crds")


@cache
def _load(filename: str) -> dict[str, Any]:
    with (UPSTREAM_CRDS / filename).open() as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict)
    return doc


class Upstream:
    """Access to the upstream CRDs; tests skip when the reference data is not on this machine."""

    def _require(self, filename: str) -> None:
        if not (UPSTREAM_CRDS / filename).is_file():
            pytest.skip(f"upstream reference CRD {filename} not available")

    def crd(self, filename: str) -> dict[str, Any]:
        """A fresh, mutable copy of one upstream CRD."""
        self._require(filename)
        return copy.deepcopy(_load(filename))

    def schema(self, filename: str) -> dict[str, Any]:
        """The v1beta2 openAPIV3Schema of an upstream CRD: the same dict every call, never mutate it."""
        self._require(filename)
        schema = _load(filename)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert isinstance(schema, dict)
        return schema


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()

"""The CRDs herd generates: pinned by a golden file, accepted by herd's own CRD validation, documented.

`golden/crds.yaml` is exactly what `herd crds` prints. After a deliberate change to a model, regenerate it
and review the diff:

    HERD_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/api/test_crd_golden.py
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from herd.api.registry import all_crds
from herd.apiserver.schema import default_crd, validate_crd
from herd.cli.crds import render_yaml

GOLDEN = Path(__file__).parent / "golden" / "crds.yaml"
CRDS = all_crds()


def test_generated_crds_equal_the_golden_file() -> None:
    text = render_yaml(CRDS)
    if os.environ.get("HERD_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run with HERD_UPDATE_GOLDEN=1 to write it"
    golden = list(yaml.safe_load_all(GOLDEN.read_text()))
    assert [crd["metadata"]["name"] for crd in CRDS] == [crd["metadata"]["name"] for crd in golden]
    for generated, pinned in zip(CRDS, golden, strict=True):
        changes: list[str] = []
        _differences(generated, pinned, "", changes)
        assert not changes, (f"{generated['metadata']['name']} differs from {GOLDEN.name} (if intended, regenerate "
                             "with HERD_UPDATE_GOLDEN=1):\n  " + "\n  ".join(changes[:50]))
    assert text == GOLDEN.read_text(), "same CRDs, different rendering: regenerate with HERD_UPDATE_GOLDEN=1"


def _differences(generated: Any, pinned: Any, path: str, out: list[str]) -> None:
    if isinstance(generated, dict) and isinstance(pinned, dict):
        for key in sorted(set(generated) | set(pinned)):
            if key not in pinned:
                out.append(f"{path}/{key}: new")
            elif key not in generated:
                out.append(f"{path}/{key}: gone")
            else:
                _differences(generated[key], pinned[key], f"{path}/{key}", out)
    elif isinstance(generated, list) and isinstance(pinned, list) and len(generated) == len(pinned):
        for index, (new, old) in enumerate(zip(generated, pinned, strict=True)):
            _differences(new, old, f"{path}/{index}", out)
    elif generated != pinned:
        out.append(f"{path}: {pinned!r} -> {generated!r}")


def test_generation_is_deterministic() -> None:
    assert render_yaml(all_crds()) == render_yaml(CRDS)


@pytest.mark.parametrize("crd", CRDS, ids=lambda crd: crd["metadata"]["name"])
def test_crd_passes_the_api_servers_crd_validation(crd: dict[str, Any]) -> None:
    defaulted = copy.deepcopy(crd)
    default_crd(defaulted)
    causes = validate_crd(defaulted)
    assert not causes, "\n".join(f"{cause.field}: {cause.message}" for cause in causes)


def _undocumented(node: dict[str, Any], path: str, out: list[str]) -> None:
    for name, sub in node.get("properties", {}).items():
        if path == "" and name == "metadata":
            continue  # the standard object metadata: described by the API server, not by the kind
        if not sub.get("description"):
            out.append(f"{path}.{name}")
        _undocumented(sub, f"{path}.{name}", out)
    for keyword, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        if isinstance(node.get(keyword), dict):
            _undocumented(node[keyword], path + suffix, out)


@pytest.mark.parametrize("crd", CRDS, ids=lambda crd: crd["metadata"]["name"])
def test_every_field_has_a_description(crd: dict[str, Any]) -> None:
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    missing: list[str] = []
    _undocumented(schema, "", missing)
    assert schema.get("description"), "the kind itself has no description"
    assert not missing, "fields without a description:\n  " + "\n  ".join(missing)

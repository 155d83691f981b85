"""`herd up --feature-gates`: upstream's syntax over upstream's defaults, and clusterctl's CLUSTER_TOPOLOGY."""

from __future__ import annotations

import subprocess
import sys

import pytest

from herd.api.webhookutil import DEFAULT_GATES, FeatureGates
from herd.cli.up import parse_feature_gates


@pytest.mark.parametrize(("text", "environ", "expected"), [
    pytest.param("", {}, DEFAULT_GATES, id="upstream-defaults"),
    pytest.param("ClusterTopology=true", {}, FeatureGates(cluster_topology=True), id="one-gate"),
    pytest.param(" ClusterTopology=True , MachineSetPreflightChecks=false ", {},
                 FeatureGates(cluster_topology=True, machine_set_preflight_checks=False), id="two-gates-spaces-case"),
    pytest.param("", {"CLUSTER_TOPOLOGY": "true"}, FeatureGates(cluster_topology=True), id="clusterctl-variable"),
    pytest.param("ClusterTopology=false", {"CLUSTER_TOPOLOGY": "true"}, DEFAULT_GATES, id="the-flag-wins"),
])
def test_gates(text: str, environ: dict[str, str], expected: FeatureGates) -> None:
    assert parse_feature_gates(text, environ) == expected


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("ClusterTopolgy=true", "unknown feature gate 'ClusterTopolgy'", id="typo"),
    pytest.param("ClusterTopology", "ClusterTopology needs =true or =false", id="no-value"),
    pytest.param("ClusterTopology=yes", "needs =true or =false, not 'yes'", id="not-a-bool"),
])
def test_bad_gates_are_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_feature_gates(text, {})


def test_herd_up_refuses_a_bad_gate_with_one_line(tmp_path: object) -> None:
    result = subprocess.run([sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(tmp_path), "--port", "0",
                             "--feature-gates", "Nope=true"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--feature-gates: unknown feature gate 'Nope'" in lines[0], result.stderr
    assert "Traceback" not in result.stderr

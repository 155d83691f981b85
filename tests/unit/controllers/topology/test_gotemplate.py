"""Go templates as ClusterClass patches write them (the book's examples), rendered as Go renders them."""

from __future__ import annotations

from typing import Any

import pytest

from herd.controllers.topology.gotemplate import TemplateError, render

DATA: dict[str, Any] = {
    "builtin": {"cluster": {"name": "c1"}, "controlPlane": {"version": "v1.24.0+build"},
                "machineDeployment": {"class": "w", "version": "v1.23.0"}},
    "vnetName": "", "httpProxy": {"enabled": True, "url": "http://p"}, "dnsServers": ["1.1.1.1", "8.8.8.8"],
    "mdConfig": {"w": {"osImage": "ubuntu"}}, "labels": {"b": "2", "a": "1"}, "replicas": 3.0, "name": "Web",
}


@pytest.mark.parametrize(("template", "rendered"), [
    ("{{ .builtin.cluster.name }}-{{ .name }}", "c1-Web"),
    ("{{ if .vnetName }}{{.vnetName}}{{else}}{{.builtin.cluster.name}}-vnet{{end}}", "c1-vnet"),
    ('{{ .builtin.controlPlane.version | replace "+" "_" }}', "v1.24.0_build"),
    ('{{ semverCompare "< v1.25-0" .builtin.controlPlane.version }}', "true"),
    ('{{ semverCompare "1.21.1" .builtin.controlPlane.version }}', "false"),
    ('{{ semverCompare "^1.22.0" (coalesce .builtin.controlPlane.version .builtin.machineDeployment.version )}}',
     "true"),
    ('{{ (index .mdConfig .builtin.machineDeployment.class).osImage }}', "ubuntu"),
    ("{{ .httpProxy.enabled }}", "true"),
    ("{{ if .httpProxy }}true{{end}}", "true"),
    ("{{ .name | upper }}", "WEB"),
    ('{{ printf "%s-%d-%v" .name 7 .replicas }}', "Web-7-3"),
    ("{{ .missing }}", "<no value>"),
    ("{{ .labels }} {{ .dnsServers }}", "map[a:1 b:2] [1.1.1.1 8.8.8.8]"),
    ("a {{- if false }}x{{ else if .name }} y {{- else }}z{{ end }} b", "a y b"),
    ("{{ range .dnsServers }}[{{ . }}]{{ end }}", "[1.1.1.1][8.8.8.8]"),
    ("{{ range $k, $v := .labels }}{{ $k }}={{ $v }};{{ end }}", "a=1;b=2;"),
    ("{{ range .nothing }}x{{ else }}none{{ end }}", "none"),
    ("{{ with .httpProxy }}{{ .url }}{{ end }}", "http://p"),
    ('{{ ne .vnetName "" }} {{ not .vnetName }} {{ and .name .vnetName }}|', "false true |"),
    ("{{ .name | quote }} {{ default \"x\" .vnetName }} {{ .dnsServers | toJson }}", '"Web" x ["1.1.1.1","8.8.8.8"]'),
])
def test_renders_as_go(template: str, rendered: str) -> None:
    assert render(template, DATA) == rendered


@pytest.mark.parametrize(("template", "error"), [
    ("{{ if .name }}open", "not closed"),
    ("{{ end }}", "without a block"),
    ("{{ nosuch .name }}", 'function "nosuch" not defined'),
    ('{{ semverCompare "<1.0" "not-a-version" }}', "error calling semverCompare"),
])
def test_a_bad_template_is_an_error_naming_the_problem(template: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error):
        render(template, DATA)


@pytest.mark.parametrize(("constraint", "version", "holds"), [
    ("1.21.1", "v1.21.1", True), ("1.21", "v1.21.7", True), ("1.21", "v1.22.0", False),
    (">= 1.22.0, < 1.24", "v1.23.9", True), (">= 1.22.0, < 1.24", "v1.24.0", False),
    ("^1.22.0", "v1.30.2", True), ("^1.22.0", "v2.0.0", False), ("~1.22.1", "v1.22.9", True),
    ("~1.22.1", "v1.23.0", False), ("< v1.25-0", "v1.25.0-alpha.1", False),
    ("< v1.25", "v1.24.0-alpha.1", False), ("< v1.25-0", "v1.24.0-alpha.1", True),
    ("<1.20 || >=1.30", "v1.31.0", True), ("!=1.30.0", "v1.30.0", False),
])
def test_semver_compare_follows_masterminds_constraints(constraint: str, version: str, holds: bool) -> None:
    assert render(f'{{{{ semverCompare "{constraint}" .v }}}}', {"v": version}) == str(holds).lower()

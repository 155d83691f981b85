"""`herd crds`: print the CustomResourceDefinitions of every kind herd defines, e.g. for `kubectl apply -f -`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import yaml

from herd.api.registry import all_crds


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("crds", help="print the CustomResourceDefinitions herd serves",
                                 epilog="example: herd crds | kubectl apply --server-side -f -")
    parser.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml",
                        help="yaml: a multi-document stream (default); json: one List object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    crds = all_crds()
    text = render_json(crds) if args.output == "json" else render_yaml(crds)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `herd crds | head`: the reader went away, which is not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
    return 0


def render_yaml(crds: list[dict[str, Any]]) -> str:
    """A YAML stream with one document per CRD, each starting with `---`."""
    return "".join("---\n" + yaml.safe_dump(crd, sort_keys=False, width=120) for crd in crds)


def render_json(crds: list[dict[str, Any]]) -> str:
    """A JSON `List` holding the CRDs, as `kubectl get -o json` prints several objects."""
    listing = {"apiVersion": "v1", "kind": "List", "items": crds, "metadata": {"resourceVersion": ""}}
    return json.dumps(listing, indent=2) + "\n"

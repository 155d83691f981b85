"""The `herd` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import completion, crds, delete, describe, generate, get, init, move, rollout, serve, status, up, version, wait
from .dev_aws import add_parser as add_dev_aws_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="herd", description="Kubernetes Cluster API with an embedded "
                                     "management plane.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parser(commands)
    crds.add_parser(commands)
    up.add_parser(commands)
    status.add_parser(commands)
    version.add_parser(commands)
    completion.add_parser(commands)
    init.add_parser(commands)
    get.add_parser(commands)
    move.add_parser(commands)
    describe.add_parser(commands)
    delete.add_parser(commands)
    wait.add_parser(commands)
    rollout.add_parser(commands)
    generate.add_parser(commands)
    add_dev_aws_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    except serve.CLIError as exc:
        print(f"herd: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())

"""`herd dev aws`: a moto server (AWS's API, simulated) on 127.0.0.1, seeded with CAPA-named AMIs, to try the AWS
provider without an AWS account. It prints the environment `herd up --provider herd.providers.aws.provider:provider`
needs, and runs until interrupted."""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path
from typing import Any

from .aws_moto import KUBERNETES_VERSIONS, moto_server
from .serve import CLIError

PROVIDER = "herd.providers.aws.provider:provider"


def add_parser(commands: Any) -> None:
    dev = commands.add_parser("dev", help="local stand-ins for clouds, to try a provider without an account",
                              epilog="example: herd dev aws")
    kinds = dev.add_subparsers(dest="cloud", required=True, metavar="CLOUD")
    aws = kinds.add_parser("aws", help="serve AWS's API simulated by moto, with CAPA-named AMIs",
                           epilog="example: herd dev aws --port 5000")
    aws.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: a free one)")
    aws.add_argument("--data-dir", type=Path, default=None, help="where the AMI seed goes (default: a temp dir)")
    aws.set_defaults(run=run_aws)


def exports(url: str) -> list[str]:
    """The shell lines that point boto3 (and so the AWS provider) at the server."""
    env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    return [f"export {key}={value}" for key, value in env.items()]


def run_aws(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("moto") is None:
        raise CLIError("moto is not installed; install it with: pip install 'moto[server]'")
    workdir = args.data_dir or Path(tempfile.mkdtemp(prefix="herd-dev-aws-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with moto_server(workdir, args.port) as server:
            print(f"moto serves AWS's API on {server.url} (AMIs for Kubernetes {', '.join(KUBERNETES_VERSIONS)})")
            print("\n".join(exports(server.url)))
            print(f"then: herd up --provider {PROVIDER}")
            print("and:  AWS_DNS_RESOLUTION_CHECK=None herd generate cluster NAME --flavor aws "
                  "--kubernetes-version v1.33.1 | kubectl apply -f -", flush=True)
            server.process.wait()
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        raise CLIError(f"{exc}; is port {args.port} free?") from None
    return 0

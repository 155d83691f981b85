"""The moto server the AWS provider's tests run against (herd.cli.aws_moto)."""

from herd.cli.aws_moto import MOTO_ACCOUNT, REGION, MotoServer, moto_server, seeded_amis

__all__ = ["MOTO_ACCOUNT", "REGION", "MotoServer", "moto_server", "seeded_amis"]

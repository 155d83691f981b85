"""Where `herd generate cluster` finds a template variable's value, as clusterctl does: a value set from the command
line first, then the environment, then the clusterctl config file (clusterctl.yaml, whose top-level keys are
variables). Names match case-insensitively in the config file and upper-cased in the environment, as viper does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .serve import CLIError

CONFIG_NAME = "clusterctl"
CONFIG_EXTENSIONS = ("yaml", "yml", "json")


def default_config_paths(environ: Mapping[str, str]) -> list[Path]:
    """clusterctl's search order: $XDG_CONFIG_HOME/cluster-api (default ~/.config), then ~/.cluster-api."""
    home = Path(environ.get("HOME") or Path.home())
    xdg = Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else home / ".config"
    return [folder / f"{CONFIG_NAME}.{extension}" for folder in (xdg / "cluster-api", home / ".cluster-api")
            for extension in CONFIG_EXTENSIONS]


def read_config(given: Path | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """The config file's top-level keys, lower-cased; --config must exist, the default files may not."""
    if given is not None and not given.expanduser().is_file():
        raise CLIError(f"the config file {given} does not exist; name an existing clusterctl.yaml with --config")
    found = [given.expanduser()] if given is not None else default_config_paths(environ)
    path = next((candidate for candidate in found if candidate.is_file()), None)
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:  # its line only: the parser's message quotes the text, which may hold credentials
        raise CLIError(f"the config file {path} is not valid YAML{where(exc)}") from None
    except OSError as exc:
        raise CLIError(f"cannot read the config file {path}: {exc.strerror}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise CLIError(f"the config file {path} must be a mapping of variable names to values")
    return {str(key).lower(): value for key, value in loaded.items()}


def where(exc: yaml.YAMLError) -> str:
    """" at line N" for a YAML error that knows its place, else ""."""
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}" if mark is not None else ""


def as_text(value: Any) -> str:
    """A config value as clusterctl reads it: scalars as text, lists and maps as ""."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return ""


class Variables:
    """A template variable's value from the overrides, the environment or the config file; None when unset."""

    def __init__(self, environ: Mapping[str, str], config: Mapping[str, Any]) -> None:
        self.environ = environ
        self.config = config
        self.overrides: dict[str, str] = {}

    def set(self, name: str, value: str) -> None:
        self.overrides[name.lower()] = value

    def get(self, name: str) -> str | None:
        if name.lower() in self.overrides:
            return self.overrides[name.lower()]
        from_environment = self.environ.get(name.upper().replace("-", "_"))
        if from_environment is not None:  # set but empty still counts, as clusterctl allows empty variables
            return from_environment
        value = self.config.get(name.lower())
        return None if value is None else as_text(value)

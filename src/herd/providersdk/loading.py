"""Finding providers to run: `module:attribute` names (`herd up --provider`) and the `herd.providers` entry point
group of installed packages.

    [project.entry-points."herd.providers"]
    example = "my_package.provider:provider"

The attribute is an `InfrastructureProvider`, or a function of no arguments returning one.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .provider import InfrastructureProvider

ENTRY_POINT_GROUP = "herd.providers"


class ProviderLoadError(Exception):
    """A provider named on the command line or by an entry point cannot be loaded; the message says why."""


def load_provider(spec: str) -> InfrastructureProvider:
    """The provider named `module:attribute` (e.g. `herd.providers.example:provider`)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ProviderLoadError(f"provider {spec!r}: expected module:attribute, e.g. herd.providers.example:provider")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProviderLoadError(f"provider {spec!r}: cannot import {module_name}: {exc}") from None
    try:
        value = getattr(module, attribute)
    except AttributeError:
        raise ProviderLoadError(f"provider {spec!r}: {module_name} has no attribute {attribute}") from None
    return _as_provider(spec, value)


def _as_provider(spec: str, value: object) -> InfrastructureProvider:
    if callable(value) and not isinstance(value, InfrastructureProvider):
        value = value()
    if not isinstance(value, InfrastructureProvider):
        raise ProviderLoadError(f"provider {spec!r} is a {type(value).__name__}, not an InfrastructureProvider")
    return value


def installed_providers() -> list[InfrastructureProvider]:
    """The providers installed packages declare in the `herd.providers` entry point group."""
    return [_as_provider(ep.value, ep.load()) for ep in entry_points(group=ENTRY_POINT_GROUP)]


def providers_from(specs: list[str] | tuple[str, ...]) -> list[InfrastructureProvider]:
    """Installed providers, then those named by `specs`; one per name (a name twice is loaded once)."""
    found: dict[str, InfrastructureProvider] = {}
    for provider in [*installed_providers(), *(load_provider(s) for s in specs)]:
        if provider.name in found and found[provider.name] is not provider:
            raise ProviderLoadError(f"two providers are named {provider.name!r}")
        found[provider.name] = provider
    return list(found.values())

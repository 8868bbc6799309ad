"""Lazy registry of provider kinds.

A policy names a provider ``kind``; this module maps it to its provider class and its
config class, and imports the provider's module only when a policy uses it, so a gateway
with only ``local`` configured never imports boto3. The config class lives in a module
that imports no SDK, so ``omnisense policy check`` validates every block without one.

Third-party adapters register through the entry-point group ``omnisense.adapters``
(name = kind, value = ``module:Class``, the class carrying ``config_type``); a kind may
also be written directly as ``package.module:Class``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, cast

from adapters.base import Provider, ProviderClass
from adapters.kit.config import ProviderConfig, config_problems, parse_config

ENTRY_POINT_GROUP = "omnisense.adapters"


@dataclass(frozen=True)
class Kind:
    """A built-in kind: where its class and its config live, and what to install for it."""

    provider: str  # "module:Class"
    config: str  # "module:ConfigClass", importing no SDK
    extra: str | None = None

    @property
    def install_hint(self) -> str | None:
        return f"pip install 'omnisense[{self.extra}]'" if self.extra else None


BUILTIN: dict[str, Kind] = {
    "aws": Kind("adapters.aws.provider:AwsProvider", "adapters.aws.config:AwsConfig", "aws"),
    "google": Kind("adapters.google.provider:GoogleProvider", "adapters.google.config:GoogleConfig", "google"),
    "vertex": Kind("adapters.google.vertex:VertexProvider", "adapters.google.vertex_config:VertexConfig", "vertex"),
    "azure": Kind("adapters.azure.provider:AzureProvider", "adapters.azure.config:AzureConfig", "azure"),
    "local": Kind("adapters.local.provider:LocalProvider", "adapters.local.config:LocalConfig"),
    "oip": Kind("adapters.oip.provider:OipProvider", "adapters.oip.config:OipConfig"),
}


class UnknownKind(LookupError):
    pass


def known_kinds() -> list[str]:
    return sorted({*BUILTIN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def _import(target: str, kind: str, hint: str | None) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        advice = f"; install it with {hint}" if hint else ""
        raise UnknownKind(f"provider kind {kind!r} cannot be loaded ({exc}){advice}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UnknownKind(f"provider kind {kind!r}: {module_name} has no {attr!r}") from None


def _external(kind: str) -> str:
    if ":" in kind:  # written as module:Class (an entry point's name has no colon): no scan of the installed metadata
        return kind
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            return str(ep.value)
    raise UnknownKind(f"unknown provider kind {kind!r} (known: {', '.join(known_kinds())})")


def provider_class(kind: str) -> ProviderClass:
    """The class of ``kind``; imports its module (and so its SDK's wrapper) now, not before."""
    builtin = BUILTIN.get(kind)
    target = builtin.provider if builtin else _external(kind)
    return cast(ProviderClass, _import(target, kind, builtin.install_hint if builtin else None))


def config_type(kind: str) -> type[ProviderConfig]:
    """The config class of ``kind``; for a built-in kind this imports no SDK."""
    builtin = BUILTIN.get(kind)
    if builtin is not None:
        return cast(type[ProviderConfig], _import(builtin.config, kind, None))
    return provider_class(kind).config_type


def _kind_of(name: str, block: Mapping[str, Any]) -> str:
    kind = block.get("kind")
    if not isinstance(kind, str):
        raise UnknownKind(f"providers.{name}: 'kind' is missing")
    return kind


def check(block: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The problems of a provider block as (path inside the block, message); builds nothing."""
    kind = block.get("kind")
    if not isinstance(kind, str):
        return [("", "'kind' is missing")]
    try:
        config = config_type(kind)
    except UnknownKind as exc:
        return [("kind", str(exc))]
    return config_problems(config, block)


def build(name: str, block: Mapping[str, Any]) -> Provider:
    """Build (not start) the provider ``name`` from its policy block, which names its ``kind``."""
    cls = provider_class(_kind_of(name, block))
    return cls(name, parse_config(cls.config_type, name, block))

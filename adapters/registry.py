"""Lazy registry of provider kinds.

A policy names a provider ``kind``; this module maps it to ``"module:Class"`` and imports
the module only when a policy uses it, so a gateway with only ``local`` configured
never imports boto3. Third-party adapters register through the entry-point group
``omnisense.adapters`` (name = kind, value = ``module:Class``); a kind may also be
written directly as ``package.module:Class``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from adapters.base import Provider, ProviderFactory

ENTRY_POINT_GROUP = "omnisense.adapters"


class Known:
    """A built-in kind: where it lives and what to install for it."""

    def __init__(self, target: str, extra: str) -> None:
        self.target = target
        self.install_hint = f"pip install 'omnisense[{extra}]'"


BUILTIN: dict[str, Known] = {
    "aws": Known("adapters.aws.provider:AwsProvider", "aws"),
    "local": Known("adapters.local.provider:LocalProvider", "local"),
}


class UnknownKind(LookupError):
    pass


def known_kinds() -> list[str]:
    return sorted({*BUILTIN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def _target(kind: str) -> tuple[str, str | None]:
    if kind in BUILTIN:
        return BUILTIN[kind].target, BUILTIN[kind].install_hint
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            return ep.value, None
    if ":" in kind:
        return kind, None
    raise UnknownKind(f"unknown provider kind {kind!r} (known: {', '.join(known_kinds())})")


def resolve(kind: str) -> ProviderFactory:
    """The factory for ``kind``; imports its module now, not before."""
    target, hint = _target(kind)
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        advice = f"; install it with {hint}" if hint else ""
        raise UnknownKind(f"provider kind {kind!r} cannot be loaded ({exc}){advice}") from exc
    factory: ProviderFactory = getattr(module, attr)
    return factory


def build(name: str, block: Mapping[str, Any]) -> Provider:
    """Build the provider ``name`` from its policy block (which names its ``kind``)."""
    kind = block.get("kind")
    if not isinstance(kind, str):
        raise UnknownKind(f"providers.{name}: 'kind' is missing")
    return resolve(kind)(name, block)

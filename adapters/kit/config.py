"""The base of every provider's policy block, and its validation with paths.

A provider kind declares one config class (a msgspec Struct deriving ``ProviderConfig``).
The registry knows it without importing the vendor's SDK, so ``omnisense policy check``
validates every provider block -- a typo such as ``regoin:`` is reported with its path and
the allowed keys -- without building a provider.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import msgspec

from adapters.kit.regions import Placement, declared
from omnisense.schema import Task

C = TypeVar("C", bound="ProviderConfig")


class ProviderConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Keys every provider block may carry (besides ``kind``)."""

    timeout_s: float = 10.0  # per vendor call; the request's deadline bounds it too
    max_workers: int = 16  # the bounded pool of a sync SDK; connections of an HTTP one
    # Price overrides per task: {task: {usd: ..., per: ..., unit: ..., minimum: ..., increment: ...}}
    prices: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    # May see unredacted input (``redact:`` is skipped for it: policies.redaction). None: the
    # kind's default, trusted for ``local`` (our own model server), untrusted for every other.
    trusted: bool | None = None
    # Where this provider processes requests (``adapters.kit.regions``): a jurisdiction code
    # (``eu``) or a cloud region name. The cloud kinds derive it from their endpoints instead
    # and read it only for an endpoint that is not the vendor's (a proxy, a container).
    region: str | None = None

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if self.max_workers < 1:
            raise ValueError("max_workers must be at least 1")

    def placement(self, task: Task | None = None) -> Placement:
        """Where a request for ``task`` is processed (None: the provider as a whole, every
        task it may serve). By default the declared ``region``; undeclared has no jurisdiction."""
        return declared(self.region, cloud=None, source="region" if self.region else "no `region:` declared")


def check_services(services: Sequence[str], **tables: Mapping[str, Any]) -> None:
    """ValueError naming the keys of a per-service table (``endpoints={...}``) that are not ``services``."""
    for name, table in tables.items():
        unknown = sorted(set(table) - set(services))
        if unknown:
            raise ValueError(f"{name}: unknown service(s) {unknown} (known: {', '.join(services)})")


def allowed_keys(config_type: type[ProviderConfig]) -> list[str]:
    return ["kind", *(f.encode_name for f in msgspec.structs.fields(config_type))]


def config_problems(config_type: type[ProviderConfig], block: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a provider block as (path inside the block, what is wrong); empty when good.

    The path is ``""`` for a problem of the whole block (two keys that go together)."""
    allowed = allowed_keys(config_type)
    unknown = [str(k) for k in block if k not in allowed]
    if unknown:
        hint = f"(allowed: {', '.join(allowed)})"
        return [(key, f"unknown key {_near(key, allowed)}{hint}") for key in unknown]
    fields = {k: v for k, v in block.items() if k != "kind"}
    try:
        msgspec.convert(fields, config_type, str_keys=True)
    except msgspec.ValidationError as exc:
        return [_with_path(str(exc))]
    return []


def format_problems(name: str, problems: list[tuple[str, str]]) -> list[str]:
    """``providers.NAME.PATH: message`` for each problem."""
    return [f"providers.{name}{'.' + path if path else ''}: {text}" for path, text in problems]


def parse_config(config_type: type[C], name: str, block: Mapping[str, Any]) -> C:
    """The validated config of provider ``name``; ValueError names the path of each problem."""
    problems = config_problems(config_type, block)
    if problems:
        raise ValueError("; ".join(format_problems(name, problems)))
    return msgspec.convert({k: v for k, v in block.items() if k != "kind"}, config_type, str_keys=True)


def _near(key: str, allowed: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, allowed, n=1)
    return f"(did you mean {close[0]!r}?) " if close else ""


def _with_path(message: str) -> tuple[str, str]:
    """``Expected `float`, got `str` - at `$.timeout_s``` -> (``timeout_s``, ``Expected `float`, got `str```)."""
    text, sep, where = message.rpartition(" - at `")
    if not sep:
        return "", message
    where = where.rstrip("`").removeprefix("$").lstrip(".")
    return re.sub(r"\['([^']*)'\]", r".\1", where).lstrip("."), text

"""Unit prices as data: a YAML table next to each adapter, plus the policy's overrides.

A table file looks like ``adapters/aws/prices.yaml``::

    checked: "2026-11"
    tasks:
      vision.labels: {usd: 0.001, per: 1, unit: image}
      text.sentiment: {usd: 0.0001, per: 100, unit: character, minimum: 300, increment: 100}
    # any other top-level key is a named entry the adapter looks up itself (a per-engine
    # or per-voice-family price, a per-page price)

Fields are ``omnisense.schema.Price``'s: ``usd`` buys ``per`` units of ``unit``; the billed
quantity is raised to ``minimum``, then rounded up to a multiple of ``increment``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

import msgspec
import yaml

from omnisense.schema import Price, Task


class PriceTable:
    """One adapter's price file, read once per process."""

    def __init__(self, package: str, filename: str = "prices.yaml") -> None:
        self.package = package
        self.filename = filename

    @functools.cached_property
    def data(self) -> dict[str, Any]:
        text = resources.files(self.package).joinpath(self.filename).read_text(encoding="utf-8")
        loaded: dict[str, Any] = yaml.safe_load(text)
        return loaded

    def entry(self, *keys: str) -> Price:
        """A named entry, e.g. ``entry("speech.synthesize", "neural")``."""
        node: Any = self.data
        for key in keys:
            node = node[key]
        return to_price(node, f"{self.filename}: {'.'.join(keys)}")

    def prices(self, overrides: Mapping[str, Mapping[str, Any]] | None = None, **chosen: Price) -> dict[Task, Price]:
        """The ``tasks`` section, then ``chosen`` entries (by task name, dots as ``__``), then overrides."""
        base = {Task(name): to_price(fields, f"{self.filename}: {name}") for name, fields in self.data["tasks"].items()}
        base.update({Task(name.replace("__", ".")): price for name, price in chosen.items()})
        return build_prices(base, overrides)


def to_price(fields: Any, where: str) -> Price:
    try:
        return msgspec.convert(fields, Price)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{where}: {exc}") from None


def build_prices(base: Mapping[Task, Price], overrides: Mapping[str, Mapping[str, Any]] | None) -> dict[Task, Price]:
    """``base`` with the policy's ``prices:`` overrides applied (a partial entry keeps the rest)."""
    prices = dict(base)
    for name, fields in (overrides or {}).items():
        try:
            task = Task(name)
        except ValueError:
            raise ValueError(f"prices: unknown task {name!r}") from None
        current = msgspec.structs.asdict(prices[task]) if task in prices else {}
        prices[task] = to_price({**current, **fields}, f"prices.{name}")
    return prices

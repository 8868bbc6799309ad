"""Unit prices of the AWS tasks: ``prices.yaml`` (read once), plus the policy's overrides."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import msgspec
import yaml

from gateway.schema import Price, Task


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files("adapters.aws").joinpath("prices.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _price(fields: dict[str, Any], where: str) -> Price:
    try:
        return msgspec.convert(fields, Price)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{where}: {exc}") from None


def textract_page_price() -> Price:
    return _price(_table()["textract_page"], "prices.yaml: textract_page")


def load_prices(engine: str = "neural", overrides: dict[str, dict[str, Any]] | None = None) -> dict[Task, Price]:
    """The price of every task, for the given Polly engine, with overrides applied."""
    table = _table()
    prices = {Task(name): _price(fields, f"prices.yaml: {name}") for name, fields in table["tasks"].items()}
    prices[Task.SPEECH_SYNTHESIZE] = _price(table[Task.SPEECH_SYNTHESIZE.value][engine], f"prices.yaml: polly {engine}")
    for name, fields in (overrides or {}).items():
        try:
            task = Task(name)
        except ValueError:
            raise ValueError(f"prices: unknown task {name!r}") from None
        base = msgspec.structs.asdict(prices[task]) if task in prices else {}
        prices[task] = _price({**base, **fields}, f"prices.{name}")
    return prices

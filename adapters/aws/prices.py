"""Unit prices of the AWS tasks: ``prices.yaml`` through the kit's ``PriceTable``."""

from __future__ import annotations

from typing import Any

from adapters.kit import PriceTable
from omnisense.schema import Price, Task

TABLE = PriceTable("adapters.aws")


def textract_page_price() -> Price:
    return TABLE.entry("textract_page")


def load_prices(engine: str = "neural", overrides: dict[str, dict[str, Any]] | None = None) -> dict[Task, Price]:
    """The price of every task, for the given Polly engine, with overrides applied."""
    return TABLE.prices(overrides, speech__synthesize=TABLE.entry(Task.SPEECH_SYNTHESIZE.value, engine))

"""Unit prices of the Azure tasks: ``prices.yaml`` through the kit's ``PriceTable``."""

from __future__ import annotations

from typing import Any

from adapters.kit import PriceTable
from omnisense.schema import Price, Task

TABLE = PriceTable("adapters.azure")


def content_safety_image_price() -> Price:
    """Content Safety's price per image (vision.moderation when it serves it)."""
    return TABLE.entry("content_safety_image")


def load_prices(
    overrides: dict[str, dict[str, Any]] | None = None, *, content_safety_images: bool = False
) -> dict[Task, Price]:
    """The price of every task (vision.moderation at Content Safety's when it serves it)."""
    chosen = {"vision__moderation": content_safety_image_price()} if content_safety_images else {}
    return TABLE.prices(overrides, **chosen)

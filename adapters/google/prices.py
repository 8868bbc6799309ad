"""Unit prices of the Google tasks: ``prices.yaml`` through the kit's ``PriceTable``."""

from __future__ import annotations

from typing import Any

from adapters.kit import PriceTable, build_prices
from adapters.kit.prices import to_price
from omnisense.schema import Price, Task

TABLE = PriceTable("adapters.google")
DEFAULT_FAMILY = "neural2"  # the voices chosen when a request names none (tts.VOICES)


def voice_price(family: str) -> Price:
    """The Text-to-Speech price of a voice family (``standard``, ``neural2`` ...)."""
    return TABLE.entry(Task.SPEECH_SYNTHESIZE.value, family)


def load_prices(overrides: dict[str, dict[str, Any]] | None = None) -> dict[Task, Price]:
    """The price of every task this build of the schema knows (speech.synthesize at the
    default voices' family), with the policy's overrides applied."""
    known = {t.value: t for t in Task}
    base = {
        known[name]: to_price(fields, f"{TABLE.filename}: {name}")
        for name, fields in TABLE.data["tasks"].items()
        if name in known
    }
    base[Task.SPEECH_SYNTHESIZE] = voice_price(DEFAULT_FAMILY)
    return build_prices(base, overrides)

"""A gateway for the fan-out tests: three sentiment providers, each right or wrong per language.

``aws`` is right everywhere, ``google`` is wrong only on Spanish, ``azure`` only on English
(``tests.answer_provider``: answers per input text); ``flaky`` and ``stuck`` are scripted
providers that a test makes fail or hang. Prices are per character.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from gateway.logs import MemorySink
from gateway.quality import QualitySample
from gateway.server import GatewayConfig, create_app
from gateway.server.config import ApiKey, LogSettings, hash_key

ANSWERS = "tests.answer_provider:AnswerProvider"
SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
POSITIVE = {"label": "positive", "scores": {"positive": 0.9, "negative": 0.05, "neutral": 0.05, "mixed": 0.0}}
NEGATIVE = {"label": "negative", "scores": {"positive": 0.05, "negative": 0.9, "neutral": 0.05, "mixed": 0.0}}
# text -> (language, the right label)
TEXTS = {
    "I love this phone": ("en", "positive"),
    "I hate this phone": ("en", "negative"),
    "me encanta este teléfono": ("es", "positive"),
    "odio este teléfono": ("es", "negative"),
}
CAT = {"name": "cat", "confidence": 0.9}
PRICES = {"aws": 0.0001, "google": 0.0002, "azure": 0.0003}
KEYS = {"team": "secret-team", "poor": "secret-poor", "narrow": "secret-narrow"}


def _label(name: str) -> dict[str, Any]:
    return POSITIVE if name == "positive" else NEGATIVE


def _flip(name: str) -> str:
    return "negative" if name == "positive" else "positive"


def answers_of(wrong_in: str | None) -> dict[str, Any]:
    """The provider's answer per text: right, except in the language ``wrong_in``."""
    return {text: _label(_flip(right) if lang == wrong_in else right) for text, (lang, right) in TEXTS.items()}


def policy(routes: dict[str, Any]) -> str:
    providers: dict[str, Any] = {
        name: {"kind": ANSWERS, "task": "text.sentiment", "answers": answers_of(wrong), "price_usd": PRICES[name]}
        for name, wrong in (("aws", None), ("google", "es"), ("azure", "en"))
    }
    providers["flaky"] = {"kind": SCRIPTED, "tasks": ["text.sentiment"], "price_usd": 0.0004, "languages": ["en"]}
    providers["stuck"] = {"kind": SCRIPTED, "tasks": ["text.sentiment"], "price_usd": 0.0004}
    providers["voice"] = {"kind": SCRIPTED, "tasks": ["speech.synthesize"], "price_usd": 0.0001}
    providers["eye1"] = {"kind": ANSWERS, "task": "vision.labels", "default": {"labels": [CAT]}, "price_usd": 0.001}
    cat_and_dog = {"labels": [{**CAT, "confidence": 0.7}, {"name": "dog", "confidence": 0.5}]}
    providers["eye2"] = {"kind": ANSWERS, "task": "vision.labels", "default": cat_and_dog, "price_usd": 0.002}
    defaults = {"timeout_s": 0.3, "deadline_s": 2.0, "retries": {"attempts": 2, "backoff_s": 0.01}}
    budgets = [{"key": "team", "usd_per_day": 1.0}, {"key": "poor", "usd_per_day": 0.004}]
    return json.dumps({"version": 1, "providers": providers, "defaults": defaults, "routes": routes,
                       "budgets": budgets})  # fmt: skip


PLAIN_ROUTES = {"*": {"candidates": ["aws"]}}


@contextmanager
def gateway(tmp_path: Path, sink: MemorySink, routes: dict[str, Any] | None = None) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(config(tmp_path, routes), sink=sink)) as client:
        yield client


def config(tmp_path: Path, routes: dict[str, Any] | None = None, *, open_gateway: bool = False) -> GatewayConfig:
    """The gateway's config on ``policy(routes)``; ``open_gateway``: no keys (any caller)."""
    path = tmp_path / "policy.yaml"
    path.write_text(policy(routes or PLAIN_ROUTES))
    keys = [
        ApiKey(id="team", sha256=hash_key(KEYS["team"])),
        ApiKey(id="poor", sha256=hash_key(KEYS["poor"])),
        ApiKey(id="narrow", sha256=hash_key(KEYS["narrow"]), providers=["aws", "google", "voice"]),
    ]
    return GatewayConfig(
        policy=str(path), keys=[] if open_gateway else keys, logs=LogSettings(sink="none"), policy_watch_s=None
    )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[key]}"}


def cost_of(text: str, providers: Sequence[str]) -> float:
    return sum(PRICES[p] * len(text) for p in providers)


class Recorder:
    """A QualityRecorder that keeps what it is given."""

    def __init__(self) -> None:
        self.batches: list[list[QualitySample]] = []

    def record(self, samples: Sequence[QualitySample]) -> None:
        self.batches.append(list(samples))

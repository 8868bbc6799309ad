"""The README's worked example ("Which vendor is right for my language?") on its own files:
the policy checks, the scripted provider is right in Spanish and not in English, and the
labelled sets are what `omnisense eval` reads (one language per line)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from adapters import registry
from adapters.base import CallContext
from gateway.cli import main
from omnisense.schema import Task, TextRequest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_the_example_policy_checks() -> None:
    assert main(["policy", "check", str(EXAMPLES / "quality" / "policy.yaml")]) == 0


def score(language: str, path: Path) -> float:
    provider = registry.build("keywords", {"kind": "examples.quality.keywords:KeywordSentiment"})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["language"] for line in lines} == {language}

    async def answer(text: str) -> str:
        ctx = CallContext(request_id="example", deadline=time.monotonic() + 5)
        out = await provider.run(Task.TEXT_SENTIMENT, TextRequest(text=text, language=language), ctx)
        return str(out.result.label)

    right = [asyncio.run(answer(line["text"])) == line["expected"]["label"] for line in lines]
    return sum(right) / len(right)


def test_the_scripted_provider_is_right_in_spanish_only() -> None:
    assert score("es", EXAMPLES / "eval" / "sentiment_es.jsonl") > 0.9  # the README's 0.944
    assert score("en", EXAMPLES / "eval" / "sentiment.jsonl") <= 0.5  # it answers neutral to English

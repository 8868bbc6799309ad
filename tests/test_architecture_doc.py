"""docs/architecture.md's snippets run as written: a vendor adapter, a strategy and a log sink."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.base import CallContext
from omnisense.schema import InvalidInput, Task, TextRequest, TranslateRequest

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


@pytest.fixture(scope="module")
def snippets() -> dict[str, Any]:
    """Every ```python block of the page, run in order in one namespace."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 3, "the page lost its snippets"
    namespace: dict[str, Any] = {"__name__": "architecture_doc"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # our own documentation
    return namespace


def test_the_vendor_adapter_serves_its_task(snippets: dict[str, Any]) -> None:
    provider = snippets["MoodProvider"]("mood", snippets["MoodConfig"]())
    ctx = CallContext(request_id="doc", deadline=time.monotonic() + 5)

    async def scenario() -> None:
        try:
            out = await provider.run(Task.TEXT_SENTIMENT, TextRequest(text="I love it"), ctx)
            assert out.result.label == "positive" and out.result.scores.neutral is None and out.model == "mood-1"
            with pytest.raises(InvalidInput, match="takes a TextRequest"):  # the kit checks the request type
                await provider.run(Task.TEXT_SENTIMENT, TranslateRequest(text="x", target_language="es"), ctx)
            assert (await provider.probe()).ok
        finally:
            await provider.aclose()

    asyncio.run(scenario())
    assert set(provider.info.capabilities) == {Task.TEXT_SENTIMENT}
    assert provider.info.prices[Task.TEXT_SENTIMENT].per == 100


def test_the_strategy_orders_candidates(snippets: dict[str, Any]) -> None:
    from policies.model import Candidate
    from policies.plan import NoFacts, RequestMeta
    from policies.strategies import Inputs

    cands = [Candidate(provider="a", weight=5), Candidate(provider="b", weight=1)]
    inputs = Inputs(Task.TEXT_SENTIMENT, {}, RequestMeta(), NoFacts(), False)
    assert [(c.provider, why) for c, why in snippets["lightest"](cands, inputs)] == [
        ("b", "weight 1"),
        ("a", "weight 5"),
    ]


def test_the_log_sink_takes_records(snippets: dict[str, Any]) -> None:
    from gateway.logs import RequestLog
    from gateway.logs.settings import LogSettings
    from gateway.storage import Storage

    sink = snippets["lines_sink"](LogSettings(sink="none"), Storage(keep=False))
    record = RequestLog(
        request_id="r1", time=time.time(), task="text.sentiment", status="ok", http_status=200, latency_ms=1.0
    )

    async def scenario() -> None:
        await sink.write([record])
        await sink.close()

    asyncio.run(scenario())
    assert '"request_id":"r1"' in sink.lines[0] and sink.lines[-1] == "closed"

"""Concurrent requests all succeed, also after an idle pause longer than the
family services' 5 s keep-alive (BentoML issue #4971: "Server disconnected")."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
from inputs import b64_png, sample


async def _burst(server: str, path: str, body: dict[str, Any], n: int) -> Counter[int]:
    async with httpx.AsyncClient(base_url=server, timeout=120) as client:
        responses = await asyncio.gather(*(client.post(path, json=body) for _ in range(n)))
    return Counter(r.status_code for r in responses)


def test_bursts_after_idle_pause(server: str) -> None:
    body = {"text": "Tim Cook met Angela Merkel in Berlin."}
    assert asyncio.run(_burst(server, "/text/entities", body, 32)) == {200: 32}
    time.sleep(6)
    assert asyncio.run(_burst(server, "/text/entities", body, 32)) == {200: 32}
    assert asyncio.run(_burst(server, "/text/sentiment", {"text": "Great!"}, 32)) == {200: 32}


def test_concurrent_labels_are_batched_correctly(server: str) -> None:
    """Each caller gets its own image's answer back from a shared batch."""
    images = {"chelsea": "tabby", "coffee": "espresso"}
    payloads = {name: {"image": b64_png(sample(name)), "max_results": 5} for name in images}

    async def run() -> list[tuple[str, dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=server, timeout=120) as client:
            names = list(images) * 8
            resps = await asyncio.gather(*(client.post("/vision/labels", json=payloads[n]) for n in names))
            return [(n, r.json()) for n, r in zip(names, resps, strict=True)]

    for name, out in asyncio.run(run()):
        top = [label["name"] for label in out["labels"]]
        assert images[name] in top, (name, top)
        assert out["image"]["width"] == sample(name).shape[1]

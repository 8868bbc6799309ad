"""Adaptive batching changes how requests are grouped, never what they answer.

The same inputs go to a server without batching (``LOCAL_MODELS_BATCHING=0``, one request at
a time) and to the session's batching server all at once (BentoML groups them into shared
forward passes); every caller gets the answer the unbatched server gave for its own input,
bad inputs included (an error of its own, not a failed batch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import serverproc
from inputs import b64_png, sample, text_image

Call = tuple[str, dict[str, Any]]

SENTIMENT = [
    {"text": "I love this phone, it is absolutely wonderful!", "language": "en"},
    {"text": "The service was slow and the food was cold.", "language": "en"},
    {"text": "Der Service war langsam und das Essen kalt.", "language": "de"},
    {"text": "La película fue maravillosa.", "language": "es"},
    {"text": "Le film était beau mais beaucoup trop long."},  # no language: lingua picks it
    {"text": "😀😀😀 🎉🎉"},  # mostly symbols: VADER
    {"text": "The meeting is on Tuesday at the main office.", "language": "en"},
    {"text": "", "language": "en"},  # invalid: its own 400
    {"text": "Dit is geweldig.", "language": "nl"},  # a language not served: its own 400
]
TEXT_MODERATION = [
    {"text": "You are a stupid idiot and a complete moron."},
    {"text": "I will find you and hurt you."},
    {"text": "Thank you for your kind help yesterday."},
    {"text": ""},
]
IMAGES = ["chelsea", "coffee", "astronaut", "rocket", "camera"]


def calls() -> list[Call]:
    images = [{"image": b64_png(sample(name))} for name in IMAGES]
    images.append({"image": b64_png(text_image())})
    bad = {"image": "bm90IGFuIGltYWdl"}  # base64 of "not an image"
    return [
        *(("/text/sentiment", body) for body in SENTIMENT),
        *(("/text/moderation", body) for body in TEXT_MODERATION),
        *(("/vision/labels", {**body, "max_results": 5}) for body in [*images, bad]),
        *(("/vision/moderation", body) for body in [*images, bad]),
    ]


@pytest.fixture(scope="module")
def unbatched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = serverproc.free_port()
    log = tmp_path_factory.mktemp("serve-unbatched") / "serve.log"
    proc = serverproc.start(port, log, LOCAL_MODELS_BATCHING="0")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        serverproc.stop(proc)


def one_at_a_time(base: str, todo: list[Call]) -> list[tuple[int, Any]]:
    with httpx.Client(base_url=base, timeout=300) as http:
        return [(r.status_code, r.json()) for r in (http.post(path, json=body) for path, body in todo)]


def all_at_once(base: str, todo: list[Call], copies: int) -> list[tuple[int, Any]]:
    """Every call ``copies`` times, all in flight together; the answers in ``todo``'s order, per copy."""

    async def run() -> list[tuple[int, Any]]:
        limits = httpx.Limits(max_connections=len(todo) * copies)
        async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as http:
            sent = [http.post(path, json=body) for _ in range(copies) for path, body in todo]
            return [(r.status_code, r.json()) for r in await asyncio.gather(*sent)]

    return asyncio.run(run())


def same(a: Any, b: Any, where: str) -> None:
    """Equal, numbers within 1e-4 (a batched convolution may round its last bits differently)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-4), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), where
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_batched_answers_equal_unbatched_answers(server: str, unbatched: str) -> None:
    todo = calls()
    alone = one_at_a_time(unbatched, todo)
    assert {status for status, _ in alone} == {200, 400}
    assert sum(status == 400 for status, _ in alone) == 5  # the empty texts, Dutch, the two bad images
    together = all_at_once(server, todo, copies=3)
    for i, answer in enumerate(together):
        path, body = todo[i % len(todo)]
        same(answer, alone[i % len(todo)], f"{path} {str(body)[:60]}")

"""The gateway over real HTTP (uvicorn + sockets): raw requests and the Python client."""

from __future__ import annotations

import httpx
import pytest

from contract_tests import samples
from contract_tests.scripted_provider import Fail
from omnisense.client import AsyncClient, Client
from omnisense.schema import (
    BudgetExceeded,
    LabelsResult,
    NoProvider,
    OmnisenseError,
    RateLimited,
    SentimentResult,
    ShuttingDown,
    TranscribeResult,
    UnprocessableInput,
    UpstreamAuth,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.conftest import LiveServer


def test_one_task_per_modality_over_raw_http(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as http:
        r = http.post("/v1/vision/labels", content=samples.jpeg(), headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 200 and r.json()["result"]["labels"][0]["name"] == "primary"
        r = http.post("/v1/text/sentiment", json={"text": "Great!"})
        assert r.json()["result"]["label"] == "positive"
        r = http.post("/v1/speech/synthesize", json={"text": "Hello"})
        assert r.headers["content-type"] == "audio/wav" and r.content.startswith(b"RIFF")
        assert r.headers["x-omnisense-provider"] == "primary" and float(r.headers["x-omnisense-cost-usd"]) > 0
        r = http.post("/v1/speech/synthesize", json={"text": "Hello"}, headers={"Accept": "application/json"})
        assert r.json()["result"]["format"] == "wav"


def test_sync_client(live: LiveServer, tmp_path: object) -> None:
    with Client(live.url) as omni:
        labels = omni.vision.labels(samples.png(), max_results=3)
        assert isinstance(labels.result, LabelsResult) and labels.provider == "primary"
        assert labels.result.image is not None and labels.result.image.width == 64
        mood = omni.text.sentiment("What a lovely day")
        assert isinstance(mood.result, SentimentResult) and mood.usage.cost_usd > 0
        audio = omni.speech.synthesize("Hello")
        assert audio.startswith(b"RIFF")
        heard = omni.speech.transcribe(samples.wav(0.5))
        assert isinstance(heard.result, TranscribeResult)
        assert heard.usage.unit == "second" and heard.usage.units == pytest.approx(0.5)


def test_client_accepts_paths_and_file_objects(live: LiveServer, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "photo.bin"
    path.write_bytes(samples.jpeg())
    with Client(live.url) as omni:
        assert omni.vision.faces(path).result.faces
        assert omni.vision.faces(str(path)).result.faces
        with path.open("rb") as f:
            assert omni.vision.ocr(f).result.text == "primary"


def test_client_raises_typed_errors_with_request_id_and_attempts(live: LiveServer) -> None:
    with Client(live.url) as omni:
        with pytest.raises(UnprocessableInput) as info:
            omni.text.sentiment("  ")
        assert info.value.request_id and "text" in info.value.detail
        providers = live.app.state.runtime.providers
        providers["primary"].script(Fail(UpstreamAuth))
        providers["secondary"].script(Fail(UpstreamAuth))
        with pytest.raises(UpstreamAuth) as failed:
            omni.text.entities("Tim Cook works at Apple")
        assert [a.provider for a in failed.value.attempts] == ["primary", "secondary"]


async def test_async_client(live: LiveServer) -> None:
    async with AsyncClient(live.url) as omni:
        translated = await omni.text.translate("Hello", "es", source_language="en")
        assert translated.result.target_language == "es"
        langs = await omni.text.language("Bonjour tout le monde")
        assert langs.result.languages[0].code == "en"  # the scripted provider always says en
        assert (await omni.vision.objects(samples.png())).result.objects


def test_client_reads_url_and_key_from_the_environment(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISENSE_URL", live.url)
    with Client() as omni:
        assert omni.text.key_phrases("The quick brown fox").result.phrases


def _problem(status: int, slug: str) -> httpx.Response:
    body = {"type": f"/problems/{slug}", "title": "x", "status": status, "detail": slug, "request_id": "r"}
    return httpx.Response(status, headers={"Retry-After": "0"}, json=body)


def _flaky(live: LiveServer, failures: list[httpx.Response]) -> tuple[list[httpx.Request], httpx.MockTransport]:
    """A transport that answers ``failures`` first, then passes requests on to the live gateway."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= len(failures):
            return failures[len(seen) - 1]
        return httpx.post(f"{live.url}{request.url.path}", content=request.content, headers=dict(request.headers))

    return seen, httpx.MockTransport(handler)


def test_client_retries_only_503_and_429_with_retry_after(live: LiveServer) -> None:
    seen, transport = _flaky(live, [_problem(503, "shutting-down"), _problem(429, "rate-limited")])
    omni = Client(http=httpx.Client(base_url=live.url, transport=transport), retries=2)
    assert omni.text.sentiment("Nice").result.label == "positive"
    assert len(seen) == 3


def test_client_retries_what_never_reached_the_gateway(live: LiveServer) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.post(f"{live.url}{request.url.path}", content=request.content, headers=dict(request.headers))

    omni = Client(http=httpx.Client(base_url=live.url, transport=httpx.MockTransport(handler)), retries=2)
    assert omni.text.sentiment("Nice").result.label == "positive"
    assert len(seen) == 2
    seen.clear()

    def read_timeout(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("the gateway took the request and did not answer in time", request=request)

    omni = Client(http=httpx.Client(base_url=live.url, transport=httpx.MockTransport(read_timeout)), retries=2)
    with pytest.raises(httpx.ReadTimeout):
        omni.text.sentiment("Nice")
    assert len(seen) == 1  # it may have reached a vendor: not sent again


def _bare(status: int, slug: str) -> httpx.Response:
    """A problem without Retry-After."""
    body = {"type": f"/problems/{slug}", "title": "x", "status": status, "detail": slug, "request_id": "r"}
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_problem(429, "budget-exceeded"), BudgetExceeded),
        (_bare(503, "no-provider"), NoProvider),
        (_problem(502, "upstream-auth"), UpstreamAuth),
        (_problem(502, "upstream-unavailable"), UpstreamUnavailable),  # the gateway's retries are spent
        (_problem(504, "upstream-timeout"), UpstreamTimeout),
        (_bare(429, "rate-limited"), RateLimited),
    ],
    ids=["budget", "no-provider", "auth", "unavailable", "timeout", "rate-limited-without-retry-after"],
)
def test_client_sends_other_errors_once(live: LiveServer, answer: httpx.Response, error: type[OmnisenseError]) -> None:
    seen, transport = _flaky(live, [answer] * 3)
    omni = Client(http=httpx.Client(base_url=live.url, transport=transport), retries=2)
    with pytest.raises(error):
        omni.text.sentiment("Nice")
    assert len(seen) == 1


async def test_async_client_retries_by_the_same_rule(live: LiveServer) -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _problem(429, "budget-exceeded") if len(seen) == 1 else _problem(503, "shutting-down")

    http = httpx.AsyncClient(base_url=live.url, transport=httpx.MockTransport(handler))
    async with AsyncClient(http=http, retries=1) as omni:
        with pytest.raises(BudgetExceeded):
            await omni.text.sentiment("Nice")
        assert len(seen) == 1
        with pytest.raises(ShuttingDown):
            await omni.text.sentiment("Nice")
        assert len(seen) == 3  # one try and one retry

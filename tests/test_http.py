"""The gateway over real HTTP (uvicorn + sockets): raw requests and the Python client."""

from __future__ import annotations

import httpx
import pytest

from contract_tests import samples
from contract_tests.scripted_provider import Fail
from gateway.client import AsyncClient, Client
from gateway.schema import LabelsResult, SentimentResult, TranscribeResult, UnprocessableInput, UpstreamAuth
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


def test_client_retries_503(live: LiveServer) -> None:
    transport_calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        transport_calls.append(request)
        if len(transport_calls) < 3:
            return httpx.Response(
                503,
                headers={"Retry-After": "0"},
                json={
                    "type": "/problems/no-provider",
                    "title": "x",
                    "status": 503,
                    "detail": "busy",
                    "request_id": "r",
                },
            )
        return httpx.post(f"{live.url}{request.url.path}", content=request.content, headers=dict(request.headers))

    http = httpx.Client(base_url=live.url, transport=httpx.MockTransport(handler))
    omni = Client(http=http, retries=2)
    assert omni.text.sentiment("Nice").result.label == "positive"
    assert len(transport_calls) == 3

"""The OpenAI dialect end to end: the official ``openai`` SDK against the gateway on the
real local models (base_url at the gateway, the gateway's API key as its key)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway.logs import MemorySink, RequestLog
from gateway.server import GatewayConfig
from gateway.server.config import ApiKey, LogSettings, hash_key
from omnisense.client import Client
from tests.conftest import LiveServer, wait_for
from tests.readme_examples import run_example

KEYS = [
    ApiKey(id="team", sha256=hash_key("team-key")),
    ApiKey(id="broke", sha256=hash_key("broke-key")),
    ApiKey(id="ears", sha256=hash_key("ears-key"), tasks=["speech.transcribe"]),
]
BUDGET = "budgets: [{key: broke, usd_per_day: 0.0, then: reject}]\n"


@pytest.fixture(scope="module")
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture(scope="module")
def gateway(model_server_url: str, tmp_path_factory: pytest.TempPathFactory, sink: MemorySink) -> Iterator[LiveServer]:
    preset = Path(__file__).resolve().parent.parent / "policies" / "presets" / "local.yaml"
    policy = tmp_path_factory.mktemp("openai") / "policy.yaml"
    priced = f"{{kind: local, url: '{model_server_url}', prices: {{text.moderation: {{usd: 0.0001}}}},"
    text = preset.read_text().replace("{kind: local,", priced)  # a price, so that a budget can run out
    policy.write_text(text + BUDGET)
    config = GatewayConfig(policy=str(policy), keys=KEYS, logs=LogSettings(sink="none"))
    with LiveServer(config, sink) as server:
        yield server


@pytest.fixture(scope="module")
def ai(gateway: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="team-key", timeout=180, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def wav(gateway: LiveServer) -> bytes:
    with Client(gateway.url, api_key="team-key", timeout=180) as omni:
        return omni.speech.synthesize("Hello from the gateway. The weather is fine today.")


def record_of(sink: MemorySink, request_id: str) -> RequestLog:
    """The call's record: exactly one."""
    assert wait_for(lambda: any(r.request_id == request_id for r in sink.records))
    found = [r for r in sink.records if r.request_id == request_id]
    assert len(found) == 1
    return found[0]


def test_transcriptions_in_json_text_srt_vtt_and_verbose_json(ai: openai.OpenAI, wav: bytes, sink: MemorySink) -> None:
    raw = ai.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("hello.wav", wav), response_format="json"
    )
    assert "gateway" in raw.parse().text.lower()
    record = record_of(sink, raw.headers["x-request-id"])
    assert record.task == "speech.transcribe" and record.provider == "local" and record.key_id == "team"
    assert "dialect: openai" in record.decisions
    text = ai.audio.transcriptions.create(model="omnisense", file=("hello.wav", wav), response_format="text")
    assert isinstance(text, str) and "gateway" in text.lower()
    srt = ai.audio.transcriptions.create(model="local", file=("hello.wav", wav), response_format="srt")
    assert srt.startswith("1\n00:00:0") and " --> " in srt and "gateway" in srt.lower()
    vtt = ai.audio.transcriptions.create(model="local", file=("hello.wav", wav), response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:0") and "gateway" in vtt.lower()
    raw_verbose = ai.audio.transcriptions.with_raw_response.create(
        model="whisper-1",
        file=("hello.wav", wav),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
        prompt="ignored",
    )
    verbose = raw_verbose.parse()
    assert verbose.language == "en" and verbose.duration > 1 and "gateway" in verbose.text.lower()
    assert verbose.segments and verbose.segments[0].start < verbose.segments[-1].end <= verbose.duration + 0.5
    assert verbose.words and any("gateway" in w.word.lower() for w in verbose.words)
    assert all(w.start <= w.end for w in verbose.words)
    assert "openai: prompt ignored" in record_of(sink, raw_verbose.headers["x-request-id"]).decisions


def test_translations_hear_french_and_answer_english(ai: openai.OpenAI, gateway: LiveServer) -> None:
    with Client(gateway.url, api_key="team-key", timeout=180) as omni:
        french = omni.speech.synthesize("Bonjour, je voudrais un café, s'il vous plaît.", language="fr")
    # espeak's French is hard to place from sound alone: the source language as a hint (extra_body).
    # Whisper base hears this sentence at temperature 0 (deterministic); "Le chat dort sur la
    # table." it did not, and its sampled fallback sometimes heard "le channonce de l'atami".
    english = ai.audio.translations.create(model="omnisense", file=("cafe.wav", french), extra_body={"language": "fr"})
    assert "coffee" in english.text.lower(), english.text  # apertium: "Greeting, would want a coffee, ..."


@pytest.mark.parametrize(("fmt", "magic"), [("wav", b"RIFF"), ("mp3", None), ("flac", b"fLaC"), ("opus", b"OggS")])
def test_speech_in_the_formats_asked_for(ai: openai.OpenAI, fmt: str, magic: bytes | None) -> None:
    audio = ai.audio.speech.create(model="tts-1", voice="alloy", input="Hello from the gateway", response_format=fmt)  # type: ignore[arg-type]
    body = audio.content
    if magic is None:  # mp3: an ID3 tag or an MPEG frame sync
        assert body[:3] == b"ID3" or (body[0] == 0xFF and body[1] & 0xE0 == 0xE0)
    else:
        assert body[:4] == magic
    assert len(body) > 1000


def test_speech_pcm_and_a_format_without_an_encoder(ai: openai.OpenAI) -> None:
    raw = ai.audio.speech.with_raw_response.create(model="local", voice="nova", input="Hello", response_format="pcm")
    assert raw.headers["content-type"] == "audio/pcm" and int(raw.headers["x-omnisense-sample-rate"]) > 8000
    assert len(raw.content) % 2 == 0 and raw.content[:4] != b"RIFF"
    with pytest.raises(openai.BadRequestError) as info:
        ai.audio.speech.create(model="tts-1", voice="alloy", input="Hello", response_format="aac")
    assert info.value.status_code == 400 and "aac" in info.value.message
    assert info.value.body["param"] == "response_format"  # type: ignore[index]


def test_a_list_of_two_texts_moderated(ai: openai.OpenAI, sink: MemorySink) -> None:
    raw = ai.moderations.with_raw_response.create(
        model="omnisense", input=["Have a lovely day, friend.", "You are a fucking idiot."]
    )
    answer = raw.parse()
    clean, rude = answer.results
    assert not clean.flagged and rude.flagged
    assert rude.categories.harassment and rude.category_scores.harassment >= 0.5
    assert clean.category_scores.harassment < 0.5
    assert answer.id.startswith("modr-")
    record = record_of(sink, raw.headers["x-request-id"])  # one call, one record
    assert record.task == "text.moderation" and "openai: 2 requests in this call" in record.decisions
    single = ai.moderations.create(input="Thank you for your help.")
    assert len(single.results) == 1 and not single.results[0].flagged


def test_models_are_listed_and_an_unknown_one_is_not_found(ai: openai.OpenAI, wav: bytes) -> None:
    names = {m.id for m in ai.models.list()}
    assert {"omnisense", "local"} <= names
    with pytest.raises(openai.NotFoundError) as info:
        ai.audio.transcriptions.create(model="gpt-9-hearing", file=("hello.wav", wav))
    assert info.value.code == "model_not_found" and "gpt-9-hearing" in info.value.message
    assert info.value.response.headers["x-request-id"]
    with pytest.raises(openai.NotFoundError):
        ai.moderations.create(model="nobody", input="hi")


def test_keys_scopes_and_budgets_in_openai_errors(gateway: LiveServer, wav: bytes, sink: MemorySink) -> None:
    url = f"{gateway.url}/v1"
    broke = openai.OpenAI(base_url=url, api_key="broke-key", max_retries=0, timeout=60)
    with broke, pytest.raises(openai.RateLimitError) as over:
        broke.moderations.create(input="hello there")
    assert over.value.code == "insufficient_quota" and over.value.type == "insufficient_quota"
    with openai.OpenAI(base_url=url, api_key="wrong", max_retries=0) as stranger:
        with pytest.raises(openai.AuthenticationError):
            stranger.moderations.create(input="hello there")
        with pytest.raises(openai.AuthenticationError):
            stranger.models.list()
    with openai.OpenAI(base_url=url, api_key="ears-key", max_retries=0, timeout=60) as ears:
        with pytest.raises(openai.PermissionDeniedError):
            ears.moderations.create(input="hello there")
        with pytest.raises(openai.PermissionDeniedError):  # a translation needs text.translate too
            ears.audio.translations.create(model="omnisense", file=("hello.wav", wav))
    assert wait_for(lambda: any(r.error_type == "BudgetExceeded" for r in sink.records))
    refused = [r for r in sink.records if r.error_type == "BudgetExceeded"][-1]
    assert refused.http_status == 429 and "dialect: openai" in refused.decisions


def test_a_wrong_method_in_openais_shape(gateway: LiveServer) -> None:
    answer = httpx.get(f"{gateway.url}/v1/audio/speech", headers={"Authorization": "Bearer team-key"})
    assert answer.status_code == 405 and answer.headers["allow"] == "POST, OPTIONS"
    assert answer.json()["error"]["type"] == "invalid_request_error" and answer.headers["x-request-id"]


def test_bad_input_is_a_bad_request(ai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        ai.audio.transcriptions.create(model="omnisense", file=("notes.wav", b"this is not audio"))
    assert info.value.status_code == 400 and info.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        ai.audio.speech.create(model="tts-1", voice="alloy", input="   ")


def test_the_readme_example(gateway: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISENSE_URL", gateway.url)
    monkeypatch.setenv("OMNISENSE_API_KEY", "team-key")
    printed = run_example("openai_sdk.py").splitlines()
    assert "gateway" in printed[0].lower() and printed[1] == "1" and printed[-1] == "[False, True]"

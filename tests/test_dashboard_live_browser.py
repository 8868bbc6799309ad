"""The dashboard's live microphone in a real browser: Debian's chromium, headless, whose fake
audio capture plays a WAV made by the local synthesizer into ``getUserMedia``; the page sends
it over ``WS /v1/speech/transcribe/stream`` to the local model server's streaming model and
shows the partials and finals. The gateway is protected: the admin key travels as the
WebSocket subprotocol ``bearer`` (a browser cannot set headers on a WebSocket).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import struct
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.logs import MemorySink
from gateway.server import GatewayConfig
from gateway.server.config import ApiKey, LogSettings, hash_key
from tests.conftest import LiveServer, wait_for

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = os.environ.get("OMNISENSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no chromium at {CHROMIUM} (scripts/setup.sh installs Debian's)", allow_module_level=True)

expect = playwright_api.expect
ARTIFACTS = Path(os.environ.get("OMNISENSE_TEST_ARTIFACTS") or Path(__file__).parent.parent / "test-artifacts")
ADMIN = "live-admin-secret"
SENTENCES = ["The weather is nice today.", "Please call me in the morning."]


def spoken_wav(model_server: str, path: Path) -> float:
    """Both sentences from the local synthesizer, silence around them: a WAV file; its seconds."""
    pcm, rate = b"", 22050
    with httpx.Client(base_url=model_server, timeout=120) as http:
        for sentence in SENTENCES:
            answer = http.post("/speech/synthesize", json={"text": sentence, "language": "en"})
            assert answer.status_code == 200, answer.text
            with wave.open(io.BytesIO(base64.b64decode(answer.json()["audio"]))) as w:
                rate = w.getframerate()
                pcm += b"\x00\x00" * rate + w.readframes(w.getnframes())
    pcm += b"\x00\x00" * rate * 2
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
    path.write_bytes(header + b"data" + struct.pack("<I", len(pcm)) + pcm)
    return len(pcm) / 2 / rate


@pytest.fixture(scope="module")
def gateway(model_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, MemorySink]]:
    preset = Path(__file__).resolve().parent.parent / "policies" / "presets" / "local.yaml"
    policy = tmp_path_factory.mktemp("live-dashboard") / "policy.yaml"
    policy.write_text(preset.read_text().replace("{kind: local,", f"{{kind: local, url: '{model_server_url}',"))
    keys = [ApiKey(id="ops", sha256=hash_key(ADMIN), admin=True)]
    sink = MemorySink()
    config = GatewayConfig(policy=str(policy), keys=keys, logs=LogSettings(sink="none"))
    with LiveServer(config, sink) as server:
        yield server, sink


@pytest.fixture(scope="module")
def page(
    model_server_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Any]:
    wav = tmp_path_factory.mktemp("mic") / "speech.wav"
    spoken_wav(model_server_url, wav)
    args = [
        "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    ]  # fmt: skip
    errors: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None
        )
        try:
            yield tab
            assert not errors, f"the page reported errors: {errors}"
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / "dashboard-live-microphone.png"), full_page=True)
            browser.close()


def test_the_microphone_is_transcribed_live(gateway: tuple[LiveServer, MemorySink], page: Any) -> None:
    server, sink = gateway
    page.goto(f"{server.url}/dashboard")
    page.fill("#key", ADMIN)
    page.click("#key-form button")
    page.fill("#live-language", "en")
    page.click("#live-start")
    expect(page.locator("#live-status")).to_contain_text("listening", timeout=30_000)
    expect(page.locator("#live-stop")).to_be_enabled()
    # the fake microphone plays the sentences at real-time pace: finals come at the pauses
    expect(page.locator("#live-finals")).to_contain_text("weather", timeout=60_000)
    panel = page.locator("#live-panel")
    partials_before_first_final = int(panel.get_attribute("data-partials") or 0)
    expect(page.locator("#live-finals")).to_contain_text("morning", timeout=60_000)
    page.click("#live-stop")
    expect(page.locator("#live-summary")).to_contain_text("done:", timeout=30_000)
    expect(page.locator("#live-summary")).to_contain_text("local")
    expect(page.locator("#live-status")).to_contain_text("session ended")
    assert partials_before_first_final > 0, "partials show while the words are spoken"
    heard = page.locator("#live-finals").text_content().lower()
    for word in ("weather", "nice", "call", "morning"):
        assert word in heard
    summary = page.locator("#live-summary").text_content()
    request_id = summary.rsplit("request ", 1)[1].strip()
    assert wait_for(lambda: any(r.request_id == request_id for r in sink.records))
    record = next(r for r in sink.records if r.request_id == request_id)
    assert record.task == "speech.transcribe" and record.key_id == "ops" and record.status == "ok"
    assert record.stream is not None and record.stream.close_code == 1000 and record.stream.first_partial_ms


def test_try_it_streams_a_synthesis_and_times_its_first_audio(
    gateway: tuple[LiveServer, MemorySink], page: Any
) -> None:
    server, _ = gateway
    page.goto(f"{server.url}/dashboard")
    page.fill("#key", ADMIN)
    page.click("#key-form button")
    page.select_option("#try-task", "speech.synthesize")
    page.fill("#try-fields [name=text]", " ".join(SENTENCES * 2))
    page.check("#try-fields [name=stream]")
    page.click("#try-run")
    summary = page.locator("#try-summary")
    expect(summary).to_contain_text("speech.synthesize: streamed by local (piper)", timeout=60_000)
    expect(summary).to_contain_text("first audio after")
    expect(page.locator("#try-output audio")).to_have_count(1)
    chunks = int(summary.text_content().split(" chunk(s)")[0].rsplit(" ", 1)[1])
    assert chunks >= 2, "the audio came in pieces, sentence by sentence"


def test_a_key_a_subprotocol_cannot_carry_is_refused_in_the_page(
    gateway: tuple[LiveServer, MemorySink], page: Any
) -> None:
    page.goto(f"{gateway[0].url}/dashboard")
    page.fill("#key", "not a token/=")
    page.click("#key-form button")
    page.click("#live-start")
    expect(page.locator("#live-status")).to_contain_text("cannot start: this key holds characters")
    expect(page.locator("#live-start")).to_be_enabled()

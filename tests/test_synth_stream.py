"""Streamed synthesis through the real gateway on uvicorn, over real HTTP: ``"stream": true``.

The providers are ``contract_tests.scripted_synth_stream``'s: routing, fallback before the
first byte, the cut-short stream after it, the record and the budget run for real.
"""

from __future__ import annotations

import io
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests.scripted_provider import Fail
from contract_tests.scripted_synth_stream import Breaks, Gated
from gateway.logs import MemorySink
from gateway.server.config import ApiKey, hash_key
from omnisense import AsyncClient, Client
from omnisense.client.streams import StreamInterrupted
from omnisense.schema import UnprocessableInput, UpstreamUnavailable
from tests.conftest import LiveServer, make_config, wait_for

KIND = "contract_tests.scripted_synth_stream:StreamingScriptedProvider"
POLICY = f"""
version: 1
providers:
  whole:  {{kind: "{KIND}", label: whole, streaming: false, price_usd: 0.000001}}
  first:  {{kind: "{KIND}", label: first, price_usd: 0.00002}}
  second: {{kind: "{KIND}", label: second, price_usd: 0.00003}}
defaults: {{timeout_s: 2.0, deadline_s: 10.0, retries: {{attempts: 1}}}}
routes:
  speech.synthesize: {{strategy: priority, candidates: [whole, first, second]}}
budgets:
  - {{key: team, usd_per_day: 1.0}}
"""
TEXT = "Hello there. How are you today?"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[LiveServer, MemorySink]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    sink = MemorySink()
    keys = [ApiKey(id="team", sha256=hash_key("secret-team"))]
    with LiveServer(make_config(policy, keys=keys), sink) as server:
        yield server, sink


def providers(server: LiveServer) -> Any:
    return server.app.state.runtime.providers


def record(sink: MemorySink, request_id: str) -> Any:
    assert wait_for(lambda: any(r.request_id == request_id for r in sink.records))
    return next(r for r in sink.records if r.request_id == request_id)


def post(server: LiveServer, **body: Any) -> tuple[httpx.Client, Any]:
    http = httpx.Client(base_url=server.url, headers={"Authorization": "Bearer secret-team"}, timeout=10)
    return http, http.stream("POST", "/v1/speech/synthesize", json={"text": TEXT, "stream": True, **body})


def test_the_first_bytes_arrive_before_the_synthesis_is_done(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, sink = gateway
    first = providers(server)["first"]
    gate = threading.Event()
    first.script_stream(Gated(gate))
    http, stream = post(server)
    with http, stream as r:
        assert r.status_code == 200
        chunks = r.iter_raw()
        head = next(chunks)
        # the client holds audio while the provider is still held before its second chunk
        assert head[:4] == b"RIFF" and first.events == ["chunk 0"]
        gate.set()
        body = head + b"".join(chunks)
        headers = r.headers
    assert first.events == ["chunk 0", "chunk 1", "chunk 2", "chunk 3", "end", "closed"]
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert headers["content-type"] == "audio/wav" and headers["x-omnisense-stream"] == "1"
    assert headers["x-omnisense-provider"] == "first"  # "whole" does not stream: skipped
    timing = dict(part.strip().split(";dur=") for part in headers["server-timing"].split(","))
    assert set(timing) == {"gateway", "upstream", "ttfb"} and float(timing["ttfb"]) > 0
    with wave.open(io.BytesIO(body)) as wav:  # the stream header's sizes read as "to the end"
        assert wav.getframerate() == 16_000 and len(wav.readframes(10**9)) == 4 * 3200
    rec = record(sink, headers["x-request-id"])
    assert rec.status == "ok" and rec.http_status == 200 and rec.provider == "first"
    assert rec.ttfb_ms is not None and 0 < rec.ttfb_ms <= rec.latency_ms
    assert rec.units == len(TEXT) and rec.unit == "character" and rec.cost_usd == pytest.approx(len(TEXT) * 0.00002)
    assert rec.output.items == len(body)
    assert [a.provider for a in rec.attempts] == ["first"] and rec.attempts[0].outcome == "ok"
    assert "stream: audio sent as it is produced" in rec.decisions
    assert any("whole" in d and "does not stream" in d for d in rec.decisions)


def test_a_provider_failing_before_the_first_byte_falls_back(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, sink = gateway
    providers(server)["first"].script(Fail(UpstreamUnavailable))
    http, stream = post(server)
    with http, stream as r:
        body = r.read()
        assert r.status_code == 200 and r.headers["x-omnisense-provider"] == "second"
    assert len(body) == 44 + 4 * 3200
    rec = record(sink, r.headers["x-request-id"])
    assert [(a.provider, a.outcome) for a in rec.attempts] == [("first", "error"), ("second", "ok")]
    assert rec.provider == "second" and rec.ttfb_ms is not None


def test_after_the_first_byte_an_error_cuts_the_stream_short(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, sink = gateway
    first, second = providers(server)["first"], providers(server)["second"]
    first.script_stream(Breaks(after=2))
    http, stream = post(server)
    with http, stream as r, pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        for _ in r.iter_raw():
            pass
    assert not second.calls, "no fallback once audio was sent"
    rec = record(sink, r.headers["x-request-id"])
    assert rec.status == "error" and rec.http_status == 502 and rec.error_type == "UpstreamUnavailable"
    assert "after 6444 bytes of audio" in (rec.error_detail or "")
    assert rec.attempts[-1].outcome == "error" and rec.cost_usd > 0  # the provider was asked for all of it
    assert first.events[-1] == "closed"


def test_when_no_candidate_streams_the_request_is_refused(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, _ = gateway
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer secret-team"}) as http:
        r = http.post(
            "/v1/speech/synthesize", json={"text": TEXT, "stream": True}, headers={"X-Omnisense-Provider": "whole"}
        )
        assert r.status_code == 422 and r.json()["field"] == "stream"
        whole = http.post("/v1/speech/synthesize", json={"text": TEXT}, headers={"X-Omnisense-Provider": "whole"})
        assert whole.status_code == 200 and whole.headers["x-omnisense-provider"] == "whole"
        as_json = http.post(
            "/v1/speech/synthesize", json={"text": TEXT, "stream": True}, headers={"Accept": "application/json"}
        )
        assert as_json.status_code == 422 and as_json.json()["field"] == "stream"


def test_the_budget_is_charged_the_streams_cost(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, sink = gateway
    http, stream = post(server)
    with http, stream as r:
        r.read()
    rec = record(sink, r.headers["x-request-id"])
    budgets = server.app.state.runtime.dispatcher.state.budgets
    import asyncio

    left = asyncio.run(budgets.left("team")).left_usd
    assert left == pytest.approx(1.0 - rec.cost_usd)


def test_the_python_clients_iterate_the_audio(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, _ = gateway
    with Client(server.url, api_key="secret-team") as omni:
        chunks = list(omni.synthesize_stream(TEXT))
        assert len(chunks) >= 1 and b"".join(chunks)[:4] == b"RIFF" and len(b"".join(chunks)) == 44 + 4 * 3200
        providers(server)["first"].script_stream(Breaks(after=1))
        with pytest.raises(StreamInterrupted) as broken:
            list(omni.synthesize_stream(TEXT))
        assert broken.value.request_id
        with pytest.raises(UnprocessableInput):
            list(omni.synthesize_stream(TEXT, provider="whole"))

    async def collect() -> bytes:
        async with AsyncClient(server.url, api_key="secret-team") as omni:
            return b"".join([chunk async for chunk in omni.synthesize_stream(TEXT)])

    import asyncio

    assert len(asyncio.run(collect())) == 44 + 4 * 3200


def test_a_streamed_wav_is_split_by_its_real_length() -> None:
    """The gateway reads back what it streams: a WAV whose header says 0xFFFFFFFF is as long as its data."""
    from adapters.kit.audio_stream import wav_stream_header
    from adapters.kit.long_audio import split_wav

    streamed = wav_stream_header(16_000) + b"\x01\x00" * 16_000 * 5  # 5 s
    chunks = split_wav(streamed, 2.0)
    assert chunks is not None and [offset for offset, _ in chunks] == [0.0, 2.0, 4.0]
    with wave.open(io.BytesIO(chunks[-1][1])) as last:
        assert last.getnframes() == 16_000


def test_a_client_that_leaves_midway_stops_the_providers_stream(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, sink = gateway
    first = providers(server)["first"]
    gate = threading.Event()
    first.script_stream(Gated(gate))
    http, stream = post(server)
    with http, stream as r:
        next(r.iter_raw())
        request_id = r.headers["x-request-id"]
    # the connection is closed while the provider still holds its second chunk
    rec = record(sink, request_id)
    gate.set()
    assert rec.http_status == 499 and rec.error_type == "ClientClosedRequest" and rec.provider == "first"
    assert first.events == ["chunk 0", "closed"]
    assert rec.attempts[-1].outcome == "ok"  # the provider was not at fault


def test_a_stream_to_an_untrusted_provider_hears_the_redacted_text(tmp_path: Path) -> None:
    """``redact: [pii]`` on the route: the streaming provider (untrusted) gets placeholders, as a
    whole answer's would; a redactor that fails closes the request before anything is sent."""
    from contract_tests.fakes.scripted import Reply, ScriptedVendor

    text = "Call Ann Lee today."
    redactor = ScriptedVendor().start()
    redactor.route("POST", r"/capabilities", lambda req: Reply(json={"tasks": {}, "device": "cpu"}))
    redactor.route("GET", r"/readyz", lambda req: Reply(json={}))
    spans = {"spans": [[{"begin": 5, "end": 12, "type": "PERSON"}]], "version": "fake-1"}
    redactor.route("POST", r"/redact/text", lambda req: Reply(json=spans))
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"""
version: 1
providers:
  first: {{kind: "{KIND}", label: first}}
  local: {{kind: local, url: "{redactor.url}"}}
redactor: {{timeout_s: 2}}
routes:
  speech.synthesize: {{candidates: [first], redact: [pii]}}
""")
    sink = MemorySink()
    try:
        with LiveServer(make_config(policy), sink) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            first = providers(server)["first"]
            with http.stream("POST", "/v1/speech/synthesize", json={"text": text, "stream": True}) as r:
                assert r.status_code == 200 and len(r.read()) == 44 + 4 * 3200
            heard = first.calls[-1][1].text
            assert heard == "Call <PERSON_1> today." and "Ann" not in heard
            rec = record(sink, r.headers["x-request-id"])
            assert rec.redaction is not None and rec.redaction.input == {"PERSON": 1}
            redactor.push("POST", r"/redact/text", Reply(status=500, json={"error": "boom"}))
            calls = len(first.calls)
            failed = http.post("/v1/speech/synthesize", json={"text": text, "stream": True})
            assert failed.status_code == 503 and failed.json()["title"] == "Redaction unavailable"
            assert len(first.calls) == calls, "nothing was sent to the untrusted provider"
    finally:
        redactor.stop()

"""Every request leaves exactly one RequestLog with the right fields, whatever happened to it."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests.scripted_provider import Crash, Fail, Hang, ScriptedProvider
from gateway.logs import MemorySink, RequestLog
from omnisense.schema import UpstreamThrottled, UpstreamUnavailable
from tests.conftest import LiveServer

Client = TestClient[Any]


def records_for(sink: MemorySink, request_id: str, *, wait_s: float = 3.0) -> list[RequestLog]:
    """The records of one request, once the writer has handed them over (and a moment more)."""
    deadline = time.monotonic() + wait_s
    while not any(r.request_id == request_id for r in sink.records) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # a second record would be a bug: give it the chance to show
    return [r for r in sink.records if r.request_id == request_id]


def one_record(sink: MemorySink, request_id: str) -> RequestLog:
    found = records_for(sink, request_id)
    assert len(found) == 1, f"{request_id}: {len(found)} records"
    return found[0]


def provider(client: Client, name: str = "primary") -> ScriptedProvider:
    p = client.app.state.runtime.providers[name]
    assert isinstance(p, ScriptedProvider)
    return p


def test_ok(client: Client, sink: MemorySink) -> None:
    resp = client.post("/v1/text/sentiment", json={"text": "good day"}, headers={"X-Request-Id": "ok-1"})
    assert resp.status_code == 200
    r = one_record(sink, "ok-1")
    assert (r.status, r.http_status, r.task, r.provider, r.model) == (
        "ok",
        200,
        "text.sentiment",
        "primary",
        "scripted-1",
    )
    assert r.error_type is None and r.key_id is None
    assert r.units > 0 and r.unit and r.cost_usd == pytest.approx(0.002 * r.units)
    assert r.output is not None and r.output.top == "positive" and r.output.confidence == pytest.approx(0.9)
    assert r.input.characters == 8 and r.input.sha256 and r.input.bytes == 8
    assert [a.outcome for a in r.attempts] == ["ok"]
    assert r.latency_ms > 0 and r.overhead_ms is not None and r.overhead_ms <= r.latency_ms
    assert r.policy and r.strategy and r.payload is None


def test_retry_then_fallback_is_one_record(client: Client, sink: MemorySink) -> None:
    provider(client).script(Fail(UpstreamThrottled), Crash())
    resp = client.post("/v1/text/language", json={"text": "hola"}, headers={"X-Request-Id": "fb-1"})
    assert resp.status_code == 200
    r = one_record(sink, "fb-1")
    assert r.provider == "secondary" and r.status == "ok"
    assert [(a.provider, a.outcome, a.error_type) for a in r.attempts] == [
        ("primary", "error", "UpstreamThrottled"),
        ("primary", "error", "UpstreamBadResponse"),
        ("secondary", "ok", None),
    ]


def test_upstream_error(client: Client, sink: MemorySink) -> None:
    for name in ("primary", "secondary"):
        provider(client, name).script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
    resp = client.post("/v1/text/sentiment", json={"text": "x"}, headers={"X-Request-Id": "up-1"})
    assert resp.status_code == 502
    r = one_record(sink, "up-1")
    assert (r.status, r.http_status, r.error_type) == ("error", 502, "UpstreamUnavailable")
    assert len(r.attempts) == 4 and r.provider is None and r.cost_usd == 0 and r.output is None


def test_bad_input(client: Client, sink: MemorySink) -> None:
    resp = client.post(
        "/v1/text/sentiment",
        content=b"{not json",
        headers={"X-Request-Id": "bad-1", "Content-Type": "application/json"},
    )
    assert 400 <= resp.status_code < 500
    r = one_record(sink, "bad-1")
    assert r.status == "error" and r.http_status == resp.status_code
    assert r.error_type is not None and r.attempts == [] and r.provider is None


def test_bad_image(client: Client, sink: MemorySink) -> None:
    resp = client.post(
        "/v1/vision/labels", content=b"not an image", headers={"X-Request-Id": "bad-2", "Content-Type": "image/png"}
    )
    assert resp.status_code in (400, 415, 422)
    assert one_record(sink, "bad-2").http_status == resp.status_code


def test_unauthorized(protected_client: Client, sink: MemorySink) -> None:
    resp = protected_client.post("/v1/text/sentiment", json={"text": "hi"}, headers={"X-Request-Id": "auth-1"})
    assert resp.status_code == 401
    r = one_record(sink, "auth-1")
    assert (r.http_status, r.error_type, r.key_id) == (401, "Unauthorized", None)
    resp = protected_client.post(
        "/v1/text/sentiment", json={"text": "hi"}, headers={"X-Request-Id": "auth-2", "Authorization": "Bearer nope"}
    )
    assert resp.status_code == 401 and one_record(sink, "auth-2").error_type == "Unauthorized"


def test_key_id_never_the_key(protected_client: Client, sink: MemorySink) -> None:
    headers = {"X-Request-Id": "key-1", "Authorization": "Bearer secret-a"}
    assert protected_client.post("/v1/text/sentiment", json={"text": "hi"}, headers=headers).status_code == 200
    r = one_record(sink, "key-1")
    assert r.key_id == "team-a" and "secret-a" not in repr(r)


def test_forbidden_hint(protected_client: Client, sink: MemorySink) -> None:
    headers = {"X-Request-Id": "pin-1", "Authorization": "Bearer secret-admin", "X-Omnisense-Provider": "secondary"}
    assert protected_client.post("/v1/text/sentiment", json={"text": "hi"}, headers=headers).status_code == 403
    r = one_record(sink, "pin-1")
    assert (r.http_status, r.error_type, r.key_id) == (403, "Forbidden", "ops")


def test_unique_request_ids_without_header(client: Client, sink: MemorySink) -> None:
    ids = [client.post("/v1/text/sentiment", json={"text": "x"}).headers["x-request-id"] for _ in range(5)]
    assert len(set(ids)) == 5
    for rid in ids:
        one_record(sink, rid)


async def test_client_disconnect_mid_request(live: LiveServer, sink: MemorySink) -> None:
    runtime = live.app.state.runtime
    runtime.providers["primary"].script(Hang())
    body = b'{"text": "hello"}'
    request = (
        b"POST /v1/text/sentiment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Request-Id: gone-1\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    _reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    writer.write(request)
    await writer.drain()
    await asyncio.sleep(0.3)  # the provider hangs; the client gives up
    writer.transport.abort()
    started = time.monotonic()
    found = await asyncio.to_thread(records_for, sink, "gone-1")
    assert len(found) == 1
    r = found[0]
    assert (r.http_status, r.status, r.error_type) == (499, "error", "ClientClosedRequest")
    assert time.monotonic() - started < 0.9  # seen at once, not when the 1 s provider timeout fires
    assert r.input.characters == 5


async def test_client_disconnect_during_upload(live: LiveServer, sink: MemorySink) -> None:
    sock = socket.create_connection(("127.0.0.1", live.port))
    sock.sendall(
        b"POST /v1/text/sentiment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Request-Id: gone-2\r\nContent-Length: 1000\r\n\r\n" + b'{"text": "'
    )
    await asyncio.sleep(0.3)
    sock.close()
    found = await asyncio.to_thread(records_for, sink, "gone-2")
    assert [(r.http_status, r.error_type) for r in found] == [(499, "ClientClosedRequest")]


def test_generated_request_ids_are_uuid7_in_time_order(client: Client, sink: MemorySink) -> None:
    """Without X-Request-Id the gateway makes a UUIDv7: unique, and sorted by when it was made
    (the request log's request_id index grows at its end instead of at random pages)."""
    before_ms = int(time.time() * 1000)
    ids = [client.post("/v1/text/sentiment", json={"text": "good day"}).json()["request_id"] for _ in range(3)]
    after_ms = int(time.time() * 1000)
    assert len(set(ids)) == 3 and [r[:12] for r in ids] == sorted(r[:12] for r in ids)  # the millisecond leads
    for rid in ids:
        u = uuid.UUID(hex=rid)
        assert len(rid) == 32 and u.version == 7 and u.variant == uuid.RFC_4122
        assert before_ms <= int(rid[:12], 16) <= after_ms
        assert one_record(sink, rid).request_id == rid

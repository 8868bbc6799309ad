"""Live sessions share a key's budget through Redis (``state.redis``): two sessions of one key at
once, each charging per second of audio, never take it past its limit together."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from contract_tests.scripted_stream import speech_pcm
from gateway.logs import MemorySink
from gateway.server.config import ApiKey, GatewayConfig, LogSettings, StateSettings, hash_key
from tests.conftest import LiveServer, service_missing
from tests.live_helpers import chunks, play, records_of, stream_policy

LIMIT = 0.002  # USD a day: 2 s of audio at $0.001/s, for both sessions together


def test_two_sessions_of_one_key_stop_at_its_limit_together(tmp_path: Path) -> None:
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.3)
    try:
        client.ping()
    except redis.RedisError:
        service_missing("no Redis on 127.0.0.1:6379")
    prefix = f"omnisense-test:{uuid.uuid4().hex}:"
    budgets = f"budgets:\n  - {{key: team-a, usd_per_day: {LIMIT}, then: reject}}\n"
    config = GatewayConfig(
        policy=str(stream_policy(tmp_path, budgets=budgets)), keys=[ApiKey(id="team-a", sha256=hash_key("k"))],
        logs=LogSettings(sink="none"), state=StateSettings(redis="redis://127.0.0.1:6379/0", prefix=prefix),
    )  # fmt: skip
    sink = MemorySink()
    words: list[str | None] = ["alpha", "bravo", None] * 5  # 3 s each
    try:
        with LiveServer(config, sink) as server, ThreadPoolExecutor(2) as pool:
            runs = [
                pool.submit(
                    play,
                    server.url,
                    chunks(speech_pcm(words), 1600),
                    start={"sample_rate": 16000},
                    headers={"Authorization": "Bearer k"},
                    pace_s=0.01,
                )
                for _ in range(2)
            ]
            played = [r.result() for r in runs]
            records = records_of(sink, 2)
        spent = [float(client.get(name) or 0) for name in client.scan_iter(f"{prefix}*spend:team-a:day:*")]
    finally:
        for name in client.scan_iter(f"{prefix}*"):
            client.delete(name)
    assert [p.code for p in played] == [4002, 4002]
    assert spent and max(spent) <= LIMIT + 1e-9
    assert sum(r.cost_usd for r in records) == pytest.approx(LIMIT, abs=0.0001)
    assert sum(r.cost_usd for r in records) <= LIMIT + 1e-9

"""Helpers for the jobs and cache tests: synthetic WAV audio, polling, gateway configs."""

from __future__ import annotations

import io
import math
import struct
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from gateway.cache.settings import CacheSettings
from gateway.jobs.settings import JobSettings
from gateway.server.config import ApiKey, GatewayConfig, Limits, LogSettings

T = TypeVar("T")


def wav(seconds: float, rate: int = 8_000, tone_hz: float = 440.0) -> bytes:
    """A mono 16-bit WAV: a quiet tone (so every chunk holds sound), ``seconds`` long."""
    frames = int(seconds * rate)
    period = [int(3000 * math.sin(2 * math.pi * tone_hz * i / rate)) for i in range(rate)]
    second = struct.pack(f"<{rate}h", *period)
    pcm = second * int(frames // rate) + second[: (frames % rate) * 2]
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def wait_until(probe: Callable[[], T | None], timeout_s: float = 10.0, every_s: float = 0.05) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s: {probe}")
        time.sleep(every_s)


def job_config(
    policy: Path, *, keys: list[ApiKey] | None = None, logs: LogSettings | None = None, **jobs: Any
) -> GatewayConfig:
    settings = JobSettings(**{"poll_s": 0.05, "webhook_backoff_s": 0.05, "webhook_private": True, **jobs})
    return GatewayConfig(
        policy=str(policy), keys=keys or [], logs=logs or LogSettings(sink="none"), jobs=settings,
        limits=Limits(max_sync_audio_s=300.0), cache=CacheSettings(),
    )  # fmt: skip

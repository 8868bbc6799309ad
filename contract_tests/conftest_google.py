"""Fixtures for the Google adapter's tests: the wire fake and providers built on it.

Not a conftest that pytest loads by itself: test modules import the fixtures they use
(``from contract_tests.conftest_google import *``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters import registry
from adapters.google.provider import GoogleProvider
from contract_tests.fakes.google import GoogleFake
from contract_tests.fakes.google_speech_stream import SpeechStreamingFake

__all__ = [
    "google_failing_provider",
    "google_fake",
    "google_live_provider",
    "google_provider",
    "google_stream_provider",
    "google_video_provider",
    "speech_stream_fake",
]

PROJECT = "omnisense-test"


def google_block(fake: str, **overrides: Any) -> dict[str, Any]:
    """A provider block for the fake, as a policy file would give it."""
    block: dict[str, Any] = {
        "kind": "google",
        "project": PROJECT,
        "endpoint": fake,
        "credentials": "anonymous",
        "timeout_s": 10,
    }
    block.update(overrides)
    return block


@pytest.fixture(scope="session")
def google_fake() -> Iterator[GoogleFake]:
    fake = GoogleFake().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
async def google_provider(google_fake: GoogleFake) -> AsyncIterator[GoogleProvider]:
    provider = registry.build("gcp", google_block(google_fake.url))
    yield provider
    await provider.aclose()


@pytest.fixture(scope="session")
async def google_video_provider(google_fake: GoogleFake) -> AsyncIterator[GoogleProvider]:
    """Polls the annotation's operation quickly, and reads the ``gs://media-in`` bucket."""
    block = google_block(google_fake.url, video_poll_s=0.05, buckets=["media-in"])
    provider = registry.build("gcp-video", block)
    yield provider
    await provider.aclose()


@pytest.fixture(scope="session")
async def google_failing_provider(google_fake: GoogleFake) -> AsyncIterator[GoogleProvider]:
    """A short timeout for the failure paths (a hung connection must end quickly)."""
    provider = registry.build("gcp-failing", google_block(google_fake.url, timeout_s=1))
    yield provider
    await provider.aclose()


@pytest.fixture(scope="module")
def speech_stream_fake() -> Iterator[SpeechStreamingFake]:
    fake = SpeechStreamingFake().start()
    yield fake
    fake.stop()


@pytest.fixture
async def google_stream_provider(speech_stream_fake: SpeechStreamingFake) -> AsyncIterator[GoogleProvider]:
    """Live transcription to the StreamingRecognize fake (plaintext gRPC)."""
    speech_stream_fake.reset()
    block = {"kind": "google", "credentials": "anonymous", "endpoints": {"speech_stream": speech_stream_fake.url}}
    provider = registry.build("google-stream", block)
    yield provider
    await provider.aclose()


def live_credentials() -> bool:
    """Whether real Google is reachable with credentials (for ``-m live``): an API key in
    GOOGLE_API_KEY, or Application Default Credentials, and a project in GOOGLE_CLOUD_PROJECT."""
    if not os.environ.get("GOOGLE_CLOUD_PROJECT"):
        return False
    if os.environ.get("GOOGLE_API_KEY"):
        return True
    try:
        import google.auth

        google.auth.default()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
async def google_live_provider() -> AsyncIterator[GoogleProvider]:
    if not live_credentials():
        pytest.skip("no Google credentials (GOOGLE_CLOUD_PROJECT with GOOGLE_API_KEY or ADC)")
    block: dict[str, Any] = {"kind": "google", "project": os.environ["GOOGLE_CLOUD_PROJECT"], "timeout_s": 20}
    if os.environ.get("GOOGLE_API_KEY"):
        block["api_key"] = os.environ["GOOGLE_API_KEY"]
    provider = registry.build("gcp-live", block)
    yield provider
    await provider.aclose()

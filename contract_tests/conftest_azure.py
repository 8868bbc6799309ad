"""Fixtures for the Azure adapter's tests: the Azure wire fake and providers built on it.

Not a conftest that pytest loads by itself: test modules import the fixtures they use
(``from contract_tests.conftest_azure import *``).

Live runs (``pytest -m live``) read ``AZURE_AI_ENDPOINT``, ``AZURE_AI_KEY`` and
``AZURE_AI_REGION`` (a multi-service Azure AI services resource), and skip without them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters import registry
from adapters.azure.provider import AzureProvider
from contract_tests.fakes.azure import AzureFake
from contract_tests.fakes.azure_speech_stream import SpeechWebsocketFake

__all__ = [
    "azure_failing_provider",
    "azure_fake",
    "azure_live_provider",
    "azure_provider",
    "azure_stream_provider",
    "speech_websocket_fake",
]

KEY = "test-key"


def azure_block(url: str, **overrides: Any) -> dict[str, Any]:
    """A provider block for the fake, as a policy file would give it (the issue's ``azure-test``)."""
    block: dict[str, Any] = {
        "kind": "azure",
        "endpoint": url,
        "key": KEY,
        "region": "westeurope",
        "timeout_s": 10,
        "read_poll_s": 0.02,
    }
    block.update(overrides)
    return block


@pytest.fixture(scope="session")
def azure_fake() -> Iterator[AzureFake]:
    fake = AzureFake(key=KEY).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
async def azure_provider(azure_fake: AzureFake) -> AsyncIterator[AzureProvider]:
    provider = registry.build("azure", azure_block(azure_fake.url))
    assert isinstance(provider, AzureProvider)
    yield provider
    await provider.aclose()


@pytest.fixture(scope="session")
async def azure_failing_provider(azure_fake: AzureFake) -> AsyncIterator[AzureProvider]:
    """Short timeouts for the failure paths (a hung connection must end quickly)."""
    provider = registry.build("azure-failing", azure_block(azure_fake.url, timeout_s=1, connect_timeout_s=1))
    assert isinstance(provider, AzureProvider)
    yield provider
    await provider.aclose()


def stream_block(fake: SpeechWebsocketFake, **overrides: Any) -> dict[str, Any]:
    """A block whose live transcription goes to the Speech websocket fake."""
    block: dict[str, Any] = {
        "kind": "azure",
        "key": fake.key,
        "region": "westeurope",
        "endpoints": {"speech_stream": fake.url},
        "timeout_s": 5,
    }
    block.update(overrides)
    return block


@pytest.fixture(scope="module")
def speech_websocket_fake() -> Iterator[SpeechWebsocketFake]:
    fake = SpeechWebsocketFake().start()
    yield fake
    fake.stop()


@pytest.fixture
async def azure_stream_provider(speech_websocket_fake: SpeechWebsocketFake) -> AsyncIterator[AzureProvider]:
    speech_websocket_fake.reset()
    provider = registry.build("azure-stream", stream_block(speech_websocket_fake))
    assert isinstance(provider, AzureProvider)
    yield provider
    await provider.aclose()


@pytest.fixture(scope="session")
async def azure_live_provider() -> AsyncIterator[AzureProvider]:
    """The provider against real Azure (a multi-service resource from the environment)."""
    endpoint, key = os.environ.get("AZURE_AI_ENDPOINT"), os.environ.get("AZURE_AI_KEY")
    if not endpoint or not key:
        pytest.skip("AZURE_AI_ENDPOINT and AZURE_AI_KEY are not set")
    block = {
        "kind": "azure",
        "endpoint": endpoint,
        "key": key,
        "region": os.environ.get("AZURE_AI_REGION"),
        "timeout_s": 15,
    }
    provider = registry.build("azure-live", block)
    assert isinstance(provider, AzureProvider)
    yield provider
    await provider.aclose()

"""What the real Azure SDKs do on the wire, through the fake: no SDK retries, Entra tokens,
Content Safety for images, the deadline on a hung call."""

from __future__ import annotations

import time
from typing import Any

import pytest

from adapters import registry
from adapters.azure.clients import AzureClients
from adapters.azure.config import AzureConfig
from adapters.azure.provider import AzureProvider
from adapters.base import CallContext
from adapters.kit import parse_config
from contract_tests import samples
from contract_tests.abstract.base import image_request
from contract_tests.conftest_azure import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_azure import azure_block
from contract_tests.fakes.azure import AzureFake, azure_error, translator_error
from contract_tests.fakes.scripted import Reply
from omnisense.schema import (
    Media,
    SynthesizeRequest,
    Task,
    TextRequest,
    TranscribeRequest,
    TranslateRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)

IMAGE = samples.jpeg(128, 96)


def ctx(seconds: float = 10.0) -> CallContext:
    return CallContext(request_id="wire", deadline=time.monotonic() + seconds)


@pytest.mark.parametrize(
    ("op", "task", "request_", "reply"),
    [
        ("analyze", Task.VISION_LABELS, image_request(IMAGE), azure_error(503, "ServiceUnavailable", "busy")),
        ("language", Task.TEXT_LANGUAGE, TextRequest(text="hello"), azure_error(503, "ServiceUnavailable", "busy")),
        (
            "translate",
            Task.TEXT_TRANSLATE,
            TranslateRequest(text="hi", target_language="es"),
            translator_error(503000, "x"),
        ),
        (
            "stt",
            Task.SPEECH_TRANSCRIBE,
            TranscribeRequest(audio=Media(data=samples.wav(0.5), format="wav"), language="en"),
            Reply(status=503, body=b"", content_type="text/plain"),
        ),
    ],
)
async def test_sdk_retries_are_off(
    azure_provider: AzureProvider, azure_fake: AzureFake, op: str, task: Task, request_: Any, reply: Reply
) -> None:
    """One 503 reaches the gateway after exactly one request: the dispatcher owns retries."""
    azure_fake.reset()
    azure_fake.fail(op, reply)
    with pytest.raises(UpstreamUnavailable):
        await azure_provider.run(task, request_, ctx())
    assert len(azure_fake.calls(op)) == 1
    azure_fake.reset()


class FakeCredential:
    """An azure-identity TokenCredential stand-in (no identity endpoint can be reached here)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.extend(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


async def test_entra_bearer_tokens_reach_every_kind_of_client(azure_fake: AzureFake) -> None:
    block = {k: v for k, v in azure_block(azure_fake.url).items() if k != "key"} | {"credential": "entra"}
    config = parse_config(AzureConfig, "azure-entra", block)
    clients = AzureClients("azure-entra", config)
    credential = FakeCredential(azure_fake.token)
    clients._credential = credential  # what DefaultAzureCredential would give
    provider = AzureProvider("azure-entra", config, clients=clients)
    azure_fake.reset()
    try:
        await provider.run(Task.VISION_LABELS, image_request(IMAGE), ctx())  # msrest
        await provider.run(Task.TEXT_LANGUAGE, TextRequest(text="the weather is lovely today"), ctx())  # azure-core
        await provider.run(Task.SPEECH_SYNTHESIZE, SynthesizeRequest(text="hi"), ctx())  # REST
        for op in ("analyze", "language", "tts"):
            (call,) = azure_fake.calls(op)
            assert call.headers.get("Authorization") == f"Bearer {azure_fake.token}", op
            assert "Ocp-Apim-Subscription-Key" not in call.headers
        assert set(credential.scopes) == {"https://cognitiveservices.azure.com/.default"}
    finally:
        azure_fake.reset()
        await provider.aclose()


async def test_content_safety_serves_image_moderation_when_configured(azure_fake: AzureFake) -> None:
    provider = registry.build("azure-cs", azure_block(azure_fake.url, vision_moderation="content_safety"))
    azure_fake.reset()
    try:
        out = await provider.run(Task.VISION_MODERATION, image_request(IMAGE), ctx())
        assert out.model == "azure-content-safety"
        assert [(f.category, round(f.confidence, 2)) for f in out.result.flags] == [("violence", 0.33)]  # type: ignore[union-attr]
        (call,) = azure_fake.calls("image_safety")
        assert call.json()["image"]["content"] and not azure_fake.calls("analyze")
        assert provider.info.cost(Task.VISION_MODERATION, 1) == pytest.approx(0.00075)
    finally:
        await provider.aclose()


async def test_a_hung_call_ends_at_the_request_deadline(azure_fake: AzureFake) -> None:
    provider = registry.build("azure-slow", azure_block(azure_fake.url, timeout_s=30))
    azure_fake.reset()
    azure_fake.fail("language", Reply(hang=True))
    try:
        start = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            await provider.run(Task.TEXT_LANGUAGE, TextRequest(text="hello"), ctx(0.8))
        assert time.monotonic() - start < 2.0
    finally:
        azure_fake.reset()
        await provider.aclose()

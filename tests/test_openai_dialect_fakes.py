"""The OpenAI dialect on scripted providers (no model server): what the local models cannot show."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from gateway.logs import MemorySink
from tests.conftest import LiveServer, wait_for


@pytest.fixture
def ai(live: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key="open", max_retries=0, timeout=30) as client:
        yield client


def test_audio_the_gateway_cannot_read_is_a_502_not_a_crash(ai: openai.OpenAI, sink: MemorySink) -> None:
    """The scripted provider's "WAV" is only a header: passed through as wav, unreadable to encode as mp3."""
    assert (
        ai.audio.speech.create(model="primary", voice="echo", input="Hi", response_format="wav").content[:4] == b"RIFF"
    )
    with pytest.raises(openai.InternalServerError) as info:
        ai.audio.speech.create(model="primary", voice="echo", input="Hi", response_format="mp3")
    assert info.value.status_code == 502 and "could not be read to encode it as mp3" in info.value.message
    assert wait_for(lambda: any(r.error_type == "UpstreamBadResponse" for r in sink.records))


def test_models_name_the_policys_providers(ai: openai.OpenAI) -> None:
    assert {m.id for m in ai.models.list()} >= {"omnisense", "primary", "secondary"}
    moderated = ai.moderations.create(model="secondary", input="hello")
    assert len(moderated.results) == 1

"""The OpenAI dialect on scripted providers (no model server): what the local models cannot show."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from gateway.server.openai.speech_formats import convert
from omnisense.schema import UpstreamBadResponse
from tests.conftest import LiveServer


@pytest.fixture
def ai(live: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key="open", max_retries=0, timeout=30) as client:
        yield client


def test_speech_is_encoded_from_the_providers_wav(ai: openai.OpenAI) -> None:
    assert (
        ai.audio.speech.create(model="primary", voice="echo", input="Hi", response_format="wav").content[:4] == b"RIFF"
    )
    flac = ai.audio.speech.with_raw_response.create(model="primary", voice="nova", input="Hi", response_format="flac")
    assert flac.headers["content-type"] == "audio/flac" and flac.content[:4] == b"fLaC"


def test_audio_the_gateway_cannot_read_is_a_bad_upstream_answer() -> None:
    with pytest.raises(UpstreamBadResponse, match="could not be read to encode it as mp3"):
        convert(b"RIFF\x00\x00\x00\x00WAVEnot really", "mp3")
    assert convert(b"RIFF anything", "wav") == (b"RIFF anything", None)  # wav passes through unread


def test_models_name_the_policys_providers(ai: openai.OpenAI) -> None:
    assert {m.id for m in ai.models.list()} >= {"omnisense", "primary", "secondary"}
    moderated = ai.moderations.create(model="secondary", input="hello")
    assert len(moderated.results) == 1

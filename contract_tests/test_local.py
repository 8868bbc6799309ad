"""The contract suite for the local adapter, against the real model server and real models."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest

from adapters import registry
from adapters.base import CallContext
from adapters.local.provider import LocalProvider
from contract_tests import abstract
from omnisense.schema import Media, SynthesizeRequest, Task, TranscribeRequest, TranscribeResult


@pytest.fixture(scope="module")
async def local_provider(model_server_url: str) -> AsyncIterator[LocalProvider]:
    provider = registry.build("local", {"kind": "local", "url": model_server_url, "timeout_s": 120})
    await provider.start()
    yield provider
    await provider.aclose()


class OnModels:
    @pytest.fixture
    def provider(self, local_provider: LocalProvider) -> LocalProvider:
        return local_provider


class TestLabels(OnModels, abstract.LabelsContract):
    pass


class TestObjects(OnModels, abstract.ObjectsContract):
    pass  # faces and persons only (the declared classes): a yellow disc on blue has neither


class TestFaces(OnModels, abstract.FacesContract):
    expected_faces: ClassVar[int | None] = 0  # a yellow disc on blue is no face


class TestOcr(OnModels, abstract.OcrContract):
    pass


class TestModeration(OnModels, abstract.ModerationContract):
    pass  # no offline moderation model: a visible skip


class TestSentiment(OnModels, abstract.SentimentContract):
    pass


class TestEntities(OnModels, abstract.EntitiesContract):
    pass


class TestKeyPhrases(OnModels, abstract.KeyPhrasesContract):
    pass


class TestLanguage(OnModels, abstract.LanguageContract):
    pass


class TestTranslate(OnModels, abstract.TranslateContract):
    pass


class TestTextModeration(OnModels, abstract.TextModerationContract):
    pass  # tox-block's six Jigsaw categories


class TestSynthesize(OnModels, abstract.SynthesizeContract):
    pass


class TestTranscribe(OnModels, abstract.TranscribeContract):
    pass


async def test_speech_round_trip(local_provider: LocalProvider) -> None:
    """What piper says, whisper hears."""
    ctx = CallContext(request_id="round-trip", deadline=time.monotonic() + 120)
    sentence = "The quick brown fox jumps over the lazy dog."
    spoken = await local_provider.run(Task.SPEECH_SYNTHESIZE, SynthesizeRequest(text=sentence, language="en"), ctx)
    audio = spoken.result.audio  # type: ignore[union-attr]
    heard = await local_provider.run(
        Task.SPEECH_TRANSCRIBE, TranscribeRequest(audio=Media(data=audio, format="wav"), language="en"), ctx
    )
    assert isinstance(heard.result, TranscribeResult)
    words = heard.result.text.lower()
    for word in ("quick", "brown", "fox", "lazy", "dog"):
        assert word in words, heard.result.text


async def test_two_voices_through_the_gateway_adapter(local_provider: LocalProvider) -> None:
    """``speakers: 2`` through the adapter: two synthesized voices, alternating, are two speakers."""
    assert local_provider.info.capabilities[Task.SPEECH_TRANSCRIBE].diarization
    ctx = CallContext(request_id="speakers", deadline=time.monotonic() + 120)
    lines = [
        ("en_US-joe-medium", "The weather today is sunny and warm."),
        ("espeak-ng-en-GB", "Thank you, that sounds like a good plan."),
        ("en_US-joe-medium", "I will meet you at the station at noon."),
        ("espeak-ng-en-GB", "Yes, I have the folder on my desk."),
    ]
    pcm, starts = b"", []
    for voice, text in lines:
        spoken = await local_provider.run(Task.SPEECH_SYNTHESIZE, SynthesizeRequest(text=text, voice=voice), ctx)
        with wave.open(io.BytesIO(spoken.result.audio)) as w:  # type: ignore[union-attr]
            rate = w.getframerate()
            starts.append(len(pcm) / 2 / rate)
            pcm += w.readframes(w.getnframes()) + b"\0\0" * int(0.4 * rate)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    media = Media(data=out.getvalue(), format="wav", duration_s=len(pcm) / 2 / rate)
    heard = await local_provider.run(Task.SPEECH_TRANSCRIBE, TranscribeRequest(audio=media, speakers=2), ctx)
    assert isinstance(heard.result, TranscribeResult) and heard.result.segments is not None
    turns = heard.result.segments
    assert [t.speaker for t in turns] == ["S1", "S2", "S1", "S2"], turns
    assert all(abs(t.start_s - start) < 0.5 for t, start in zip(turns, starts, strict=True)), (turns, starts)
    assert {w.speaker for w in heard.result.words} == {"S1", "S2"}


def test_capabilities_are_what_the_models_do(local_provider: LocalProvider) -> None:
    caps = local_provider.info.capabilities
    assert caps[Task.VISION_OBJECTS].classes == frozenset({"face", "person"}), "the classes that ship, no more"
    assert caps[Task.VISION_FACES].model == "yunet-2023mar-int8"
    assert caps[Task.VISION_MODERATION].model == "open-nsfw"
    assert ("en", "es") in (caps[Task.TEXT_TRANSLATE].pairs or ())
    assert caps[Task.SPEECH_SYNTHESIZE].voices and "en_US-joe-medium" in caps[Task.SPEECH_SYNTHESIZE].voices


class TestVideoLabels(OnModels, abstract.VideoLabelsContract):
    pass


class TestVideoShots(OnModels, abstract.VideoShotsContract):
    expected_cuts: ClassVar[tuple[float, ...]] = (1.0,)  # red, then blue


class TestVideoModeration(OnModels, abstract.VideoModerationContract):
    expected_categories: ClassVar[tuple[str, ...]] = ("sexual",)  # every sampled frame is scored

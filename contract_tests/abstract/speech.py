"""Contract tests for the speech tasks."""

from __future__ import annotations

from typing import ClassVar

import pytest

from adapters.base import Provider
from contract_tests import samples
from contract_tests.abstract.base import ProviderContract
from omnisense.schema import (
    Media,
    SynthesizeRequest,
    SynthesizeResult,
    Task,
    TranscribeRequest,
    TranscribeResult,
    Unsupported,
)


class SynthesizeContract(ProviderContract):
    task = Task.SPEECH_SYNTHESIZE
    output_format: ClassVar[str] = "wav"
    magic: ClassVar[dict[str, bytes]] = {"wav": b"RIFF", "mp3": b"ID3", "ogg": b"OggS"}
    checks_magic: ClassVar[bool] = True

    async def test_synthesize(self, provider: Provider) -> None:
        req = SynthesizeRequest(text="Hello from the contract suite.", language="en", format=self.output_format)
        out = await self.run(provider, req)
        assert isinstance(out.result, SynthesizeResult)
        assert out.result.audio, "audio bytes"
        assert out.result.format == self.output_format
        if self.checks_magic and self.output_format in self.magic:
            head = out.result.audio[:4]
            assert head == self.magic[self.output_format] or (self.output_format == "mp3" and head[:2] == b"\xff\xfb")


class TranscribeContract(ProviderContract):
    task = Task.SPEECH_TRANSCRIBE
    sample: ClassVar[bytes] = samples.wav(1.0)
    expected_words: ClassVar[tuple[str, ...]] = ()
    expected_speakers: ClassVar[int] = 0  # a fake that answers two speakers: 2

    async def test_transcribe(self, provider: Provider) -> None:
        media = Media(data=self.sample, format="wav", duration_s=1.0)
        out = await self.run(provider, TranscribeRequest(audio=media, language="en"))
        assert isinstance(out.result, TranscribeResult)
        for w in out.result.words:
            assert w.start <= w.end
        text = out.result.text.lower()
        for word in self.expected_words:
            assert word.lower() in text, (word, text)

    async def test_speakers(self, provider: Provider) -> None:
        """A provider that diarizes answers segments; one that does not refuses, never drops the option."""
        media = Media(data=self.sample, format="wav", duration_s=1.0)
        request = TranscribeRequest(audio=media, language="en", speakers=2)
        support = provider.info.capabilities.get(self.task)
        if support is None or not support.diarization:
            with pytest.raises(Unsupported):
                await self.run(provider, request)
            return
        if not self.expected_speakers:
            pytest.skip("no speakers expected in this sample")
        out = await self.run(provider, request)
        assert isinstance(out.result, TranscribeResult) and out.result.segments is not None
        speakers = [s.speaker for s in out.result.segments]
        assert len(set(speakers)) == self.expected_speakers and speakers[0] == "S1", speakers
        starts = [s.start_s for s in out.result.segments]
        assert starts == sorted(starts) and all(s.text for s in out.result.segments)

"""Azure fast transcription (diarization) in units: the request it builds and the answer it reads."""

from __future__ import annotations

import pytest

from adapters.azure import fast_transcription
from contract_tests import samples
from contract_tests.fakes import azure_examples as ex
from omnisense.schema import Media, PayloadTooLarge, TranscribeRequest, Unsupported


def test_fast_transcription_definition_and_limits() -> None:
    wav = Media(data=samples.wav(0.1), format="wav", duration_s=0.1)
    assert fast_transcription.definition(TranscribeRequest(audio=wav, speakers=True, language="de")) == {
        "locales": ["de-DE"],
        "diarization": {"enabled": True},
    }
    assert fast_transcription.definition(TranscribeRequest(audio=wav, speakers=3))["diarization"]["maxSpeakers"] == 3
    call = fast_transcription.to_vendor(TranscribeRequest(audio=wav, speakers=2))
    assert call["headers"]["Content-Type"].startswith("multipart/form-data; boundary=omnisense-")
    assert call["params"] == {"api-version": "2024-11-15"} and call["locale"] == "en-US"
    with pytest.raises(PayloadTooLarge, match="2 hours"):
        fast_transcription.to_vendor(
            TranscribeRequest(audio=Media(data=b"x", format="wav", duration_s=7201.0), speakers=2)
        )
    with pytest.raises(Unsupported):
        fast_transcription.to_vendor(
            TranscribeRequest(audio=Media(data=b"x", format="mp3", duration_s=1.0), speakers=2)
        )


def test_fast_transcription_answer_without_word_times_still_has_turns() -> None:
    phrases = [
        {**p, "words": []} for p in ex.FAST_TRANSCRIPTION_DIARIZED["phrases"]
    ]  # an answer may carry phrases only
    result = fast_transcription.from_vendor({"combinedPhrases": [], "phrases": phrases}, "en-US")
    assert result.words == []
    assert [(s.speaker, s.start_s, s.end_s) for s in result.segments or []] == [("S1", 0.96, 4.24), ("S2", 5.04, 6.84)]
    assert result.text.startswith("Good afternoon. This is Sam.")
    undiarized = fast_transcription.from_vendor(
        {"phrases": [{k: v for k, v in phrases[0].items() if k != "speaker"}]}, "en-US"
    )
    assert undiarized.segments == [] and undiarized.text == "Good afternoon."  # no speaker given: no turn made up

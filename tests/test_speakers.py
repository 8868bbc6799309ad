"""Speaker diarization (``speakers`` on speech.transcribe): the option's validation, the capability
filter (a provider that does not diarize is never chosen for it, and says why), and the turns built
from words that carry a vendor's speaker labels."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from adapters.kit.speakers import segments, with_speakers
from omnisense.schema import (
    ConventionError,
    Media,
    ProviderInfo,
    Segment,
    Task,
    TaskSupport,
    TranscribeRequest,
    Word,
)
from policies.capabilities import input_field_of, unsupported_reason

WAV = Media(data=b"RIFF" + b"0" * 40, format="wav", duration_s=2.0)


def info(diarization: bool) -> ProviderInfo:
    support = TaskSupport(diarization=diarization)
    return ProviderInfo(name="p", kind="k", capabilities={Task.SPEECH_TRANSCRIBE: support})


@pytest.mark.parametrize(
    ("given", "diarize", "count"),
    [(None, False, None), (False, False, None), (True, True, None), (2, True, 2), ("true", True, None), ("3", True, 3)],
)
def test_speakers_is_true_or_a_count(given: Any, diarize: bool, count: int | None) -> None:
    body = {"audio": WAV} if given is None else {"audio": WAV, "speakers": given}
    request = msgspec.convert(body, TranscribeRequest, strict=False, from_attributes=True)
    assert (request.diarize, request.speaker_count) == (diarize, count)


@pytest.mark.parametrize("bad", [0, 31, -1, "many"])
def test_a_bad_count_is_refused(bad: Any) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"audio": WAV, "speakers": bad}, TranscribeRequest, strict=False, from_attributes=True)


def test_only_a_provider_that_diarizes_serves_speakers() -> None:
    asked = TranscribeRequest(audio=WAV, speakers=True)
    assert unsupported_reason(info(True), Task.SPEECH_TRANSCRIBE, asked) is None
    reason = unsupported_reason(info(False), Task.SPEECH_TRANSCRIBE, asked)
    assert reason == "does not tell speakers apart for speech.transcribe (speakers)"
    assert input_field_of(reason) == "speakers"
    plain = TranscribeRequest(audio=WAV, speakers=False)
    assert unsupported_reason(info(False), Task.SPEECH_TRANSCRIBE, plain) is None


def test_turns_from_labelled_words() -> None:
    words = [Word("a", 0.0, 0.2, None), Word("b", 0.3, 0.5, 0.9), Word("c", 1.0, 1.2, None), Word("d", 1.3, 1.4, None)]
    labelled = with_speakers(words, ["spk_1", None, "spk_0", "spk_1"])
    assert [w.speaker for w in labelled] == ["S1", None, "S2", "S1"]
    turns = segments(labelled)
    assert [(s.speaker, s.text, s.start_s, s.end_s) for s in turns] == [
        ("S1", "a b", 0.0, 0.5),
        ("S2", "c", 1.0, 1.2),
        ("S1", "d", 1.3, 1.4),
    ]
    assert segments([Word("x", 0.0, 1.0, None)]) == []  # no speaker known: no turn made up


def test_a_segment_keeps_time_order() -> None:
    with pytest.raises(ConventionError):
        Segment(start_s=2.0, end_s=1.0, speaker="S1", text="x")

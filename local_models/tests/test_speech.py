from __future__ import annotations

import base64
import io
import itertools
import re
import wave
from typing import Any

from inputs import SENTENCE


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _word_errors(heard: list[str], said: list[str]) -> int:
    """Word-level edit distance (substitutions, insertions, deletions)."""
    row = list(range(len(said) + 1))
    for i, h in enumerate(heard, 1):
        prev, row[0] = row[0], i
        for j, s in enumerate(said, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (h != s))
    return row[-1]


def test_synthesize_transcribe_round_trip(client: Any) -> None:
    tts = client.ok("/speech/synthesize", {"text": SENTENCE, "voice": None, "language": "en", "format": "wav"})
    assert tts["format"] == "wav" and tts["voice"] == "en_US-joe-medium"
    audio = base64.b64decode(tts["audio"])
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getframerate() == tts["sample_rate"] == 22050
        seconds = wav.getnframes() / wav.getframerate()
    assert 1.5 < seconds < 6
    stt = client.ok("/speech/transcribe", {"audio": tts["audio"], "language": None})
    # piper samples noise in its model: each synthesis differs a little, and whisper now and
    # then hears "jumped" for "jumps". One word of nine may differ; more is a broken path.
    assert _word_errors(_words(stt["text"]), _words(SENTENCE)) <= 1, stt["text"]
    assert stt["language"] == "en" and 0 < stt["confidence"] <= 1
    assert abs(stt["duration_s"] - seconds) < 0.1
    assert [w["text"].strip(".,").lower() for w in stt["words"]] == _words(stt["text"]), "words spell the text"
    for w in stt["words"]:
        assert 0 <= w["start"] <= w["end"] <= stt["duration_s"] + 0.01
        assert 0 <= w["confidence"] <= 1


def test_espeak_for_other_languages(client: Any) -> None:
    out = client.ok("/speech/synthesize", {"text": "Hola, ¿cómo estás?", "language": "es"})
    assert out["voice"] == "espeak-ng-es" and out["sample_rate"] == 22050
    with wave.open(io.BytesIO(base64.b64decode(out["audio"]))) as wav:
        assert wav.getnframes() > 0


def test_named_voice(client: Any) -> None:
    out = client.ok("/speech/synthesize", {"text": "Bonjour", "voice": "espeak-ng-fr-FR"})
    assert out["voice"] == "espeak-ng-fr-FR"


def test_language_picks_the_main_regional_voice(client: Any) -> None:
    out = client.ok("/speech/synthesize", {"text": "Bonjour", "language": "fr"})
    assert out["voice"] == "espeak-ng-fr-FR"


def test_spanish_speech_is_transcribed_as_spanish(client: Any) -> None:
    sentence = "Buenos días, me gustaría reservar una mesa para dos personas esta noche."
    tts = client.ok("/speech/synthesize", {"text": sentence, "language": "es"})
    assert tts["voice"].startswith("espeak-ng-es")
    stt = client.ok("/speech/transcribe", {"audio": tts["audio"], "language": None})
    assert stt["language"] == "es" and stt["language_confidence"] > 0.5
    heard = set(re.findall(r"\w+", stt["text"].lower()))
    assert {"buenos", "reservar", "mesa", "noche"} <= heard, stt["text"]


def test_language_hint_is_used(client: Any) -> None:
    tts = client.ok("/speech/synthesize", {"text": "Guten Morgen, wie geht es dir?", "language": "de"})
    stt = client.ok("/speech/transcribe", {"audio": tts["audio"], "language": "de"})
    assert stt["language"] == "de" and stt["language_confidence"] is None
    assert "morgen" in stt["text"].lower()


def _pcm(b64: str) -> tuple[int, bytes]:
    with wave.open(io.BytesIO(base64.b64decode(b64))) as wav:
        return wav.getframerate(), wav.readframes(wav.getnframes())


def test_two_voices_are_two_speakers_with_their_turns(client: Any) -> None:
    """Two synthesized voices (piper joe, espeak-ng en-GB) saying alternating sentences: two
    speakers, and every change of speaker within 0.5 s of where the other voice begins."""
    lines = [
        ("en_US-joe-medium", "The weather today is sunny and warm."),
        ("espeak-ng-en-GB", "Thank you, that sounds like a good plan."),
        ("en_US-joe-medium", "I will meet you at the station at noon."),
        ("espeak-ng-en-GB", "I think the train leaves rather early."),
        ("en_US-joe-medium", "Please bring the blue folder with you."),
        ("espeak-ng-en-GB", "Yes, I have the folder on my desk."),
    ]
    pcm, starts, rate = b"", [], 22050
    for voice, text in lines:
        got_rate, frames = _pcm(client.ok("/speech/synthesize", {"text": text, "voice": voice})["audio"])
        assert got_rate == rate
        starts.append(len(pcm) / 2 / rate)
        pcm += frames + b"\0\0" * int(0.4 * rate)  # a short pause between turns
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    audio = base64.b64encode(out.getvalue()).decode()
    stt = client.ok("/speech/transcribe", {"audio": audio, "language": "en", "speakers": True})
    turns = stt["segments"]
    assert {t["speaker"] for t in turns} == {"S1", "S2"}, turns
    changes = [t["start_s"] for prev, t in itertools.pairwise(turns) if t["speaker"] != prev["speaker"]]
    assert len(changes) == len(starts) - 1, turns
    for found, truth in zip(changes, starts[1:], strict=True):
        assert abs(found - truth) < 0.5, (found, truth, turns)
    assert all(w["speaker"] in ("S1", "S2") for w in stt["words"])
    assert [t["speaker"] for t in turns][:2] == ["S1", "S2"]

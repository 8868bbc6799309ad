"""Cloud Speech-to-Text v1 ``speech:recognize``: speech.transcribe (synchronous).

- Audio: WAV (LINEAR16) and FLAC are described by their headers (encoding and rate are
  left to Google); MP3 is sent as ``MP3`` with its rate read from the frames. Inline
  content (or a ``gs://`` URI). Other formats are Unsupported (the next provider may
  take them).
- Limit: ``recognize`` takes at most 60 s of audio (and 10 MB). Longer WAV (an async job:
  the synchronous endpoint refuses over 300 s) is sent in 55-second chunks, one
  ``recognize`` each, merged with shifted word times (``adapters.kit.long_audio``); other
  long formats are answered 413 naming the limit, before any call. ``longrunningrecognize``
  is not used: beyond about a minute it reads audio only from a ``gs://`` URI, which
  needs a bucket this adapter does not have.
- Language: the request's, else the provider's ``default_language``; a bare language is
  sent as its main locale (``en`` -> ``en-US``, ``zh`` -> ``cmn-Hans-CN``).
- Result: the best alternative of each result, joined; ``confidence`` is the mean of
  their confidences; words with ``startTime``/``endTime`` (durations like ``"1.300s"``) and
  their own confidence (``enableWordConfidence``). Google documents a confidence of 0.0 as
  "not set" (it is set only for the top alternative of a final result): such a confidence is
  null, and the result's is null when no alternative has one.
- Speakers (``speakers`` in the request): ``diarization_config`` with
  ``enable_speaker_diarization`` and, given an expected count, ``min_speaker_count`` =
  ``max_speaker_count`` = that count. As documented, the last result then holds every word
  again with its ``speaker_tag`` (or ``speaker_label``); those words make the result's words
  and its segments. Audio past 60 s is refused with speakers (each chunk would number its
  speakers on its own).
"""

from __future__ import annotations

import io
from typing import Any

from adapters.base import CallContext, ProviderResult
from adapters.google.clients import GoogleClients
from adapters.google.common import bcp47, raw, score
from adapters.kit import mean, parsed, request_language
from adapters.kit.long_audio import transcribe_in_chunks
from adapters.kit.speakers import segments, with_speakers
from omnisense.schema import (
    InvalidInput,
    PayloadTooLarge,
    Task,
    TranscribeRequest,
    TranscribeResult,
    Unsupported,
    UnsupportedMediaType,
    Word,
    primary,
)

MODEL = "speech-to-text-v1"
FORMATS = frozenset({"wav", "flac", "mp3"})
MAX_SECONDS = 60.0
CHUNK_SECONDS = 55.0  # longer WAV goes in chunks of this length (jobs); longrunningrecognize is not used
MAX_BYTES = 10 * 1024 * 1024
LOCALES = {
    "en": "en-US",
    "es": "es-ES",
    "fr": "fr-FR",
    "de": "de-DE",
    "it": "it-IT",
    "pt": "pt-BR",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "nl": "nl-NL",
    "ru": "ru-RU",
    "hi": "hi-IN",
    "ar": "ar-SA",
    "zh": "cmn-Hans-CN",
}


def language_code(language: str | None, default: str) -> str:
    tag = request_language(language, default)
    assert tag is not None
    return tag if "-" in tag else LOCALES.get(primary(tag), tag)


def mp3_rate(data: bytes) -> int:
    from mutagen.mp3 import MP3, HeaderNotFoundError

    try:
        info: Any = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
        return int(info.sample_rate)
    except HeaderNotFoundError:
        raise UnsupportedMediaType("the mp3 audio has no readable frame header", field="audio") from None


def to_vendor(request: TranscribeRequest, default_language: str = "en-US", model: str = "default") -> dict[str, Any]:
    media = request.audio
    seconds = media.duration_s
    if seconds is not None and seconds > MAX_SECONDS:
        raise PayloadTooLarge(
            f"google recognize takes at most {MAX_SECONDS:.0f} s of audio, got {seconds:.1f} s "
            "(longer audio: WAV, sent as an async job, goes in chunks)",
            field="audio",
        )
    config: dict[str, Any] = {
        "language_code": language_code(request.language, default_language),
        "enable_word_time_offsets": True,
        "enable_word_confidence": True,
        "enable_automatic_punctuation": True,
        "model": model,
    }
    if request.diarize:
        diarization: dict[str, Any] = {"enable_speaker_diarization": True}
        if request.speaker_count:
            diarization.update(min_speaker_count=request.speaker_count, max_speaker_count=request.speaker_count)
        config["diarization_config"] = diarization
    if media.uri:
        if not media.uri.startswith("gs://"):
            raise InvalidInput(f"google reads audio from bytes or a gs:// URI, not {media.uri[:60]!r}", field="audio")
        return {"config": config, "audio": {"uri": media.uri}}
    if not media.data:
        raise InvalidInput("the audio is empty", field="audio")
    if media.format not in FORMATS:
        raise Unsupported(f"google recognize does not read {media.format!r} audio here", field="audio")
    if media.size > MAX_BYTES:
        raise PayloadTooLarge(f"google recognize takes at most {MAX_BYTES} bytes of audio inline", field="audio")
    if media.format == "mp3":
        config.update(encoding="MP3", sample_rate_hertz=mp3_rate(media.data))
    return {"config": config, "audio": {"content": media.data}}


def seconds(duration: Any) -> float:
    """A protobuf Duration (``"1.300s"`` on the wire) in seconds."""
    return float(duration.seconds) + float(duration.nanos) / 1e9


def from_vendor(response: Any) -> TranscribeResult:
    texts: list[str] = []
    confidences: list[float | None] = []
    words: list[Word] = []
    diarized: list[Word] | None = None
    language = None
    for result in response.results:
        if not result.alternatives:
            continue
        best = result.alternatives[0]
        language = language or (str(result.language_code) or None)
        if any(speaker_of(w) for w in best.words):  # the documented last result: every word, with speakers
            diarized = _diarized_words(best.words)
            continue
        texts.append(str(best.transcript).strip())
        confidences.append(given(best.confidence))
        words.extend(_word(w) for w in best.words)
    confidence = mean(confidences)
    text = " ".join(t for t in texts if t)
    return TranscribeResult(
        text=text,
        confidence=None if confidence is None else score(confidence),
        words=words if diarized is None else diarized,
        language=bcp47(language) if language else None,
        segments=None if diarized is None else segments(diarized),
    )


def _word(w: Any) -> Word:
    start, end = seconds(w.start_time), seconds(w.end_time)
    return Word(str(w.word), start, max(start, end), given(w.confidence))


def speaker_of(word: Any) -> str | None:
    """A word's speaker: its ``speaker_label``, else its ``speaker_tag`` (0 is Google's "unset")."""
    return str(word.speaker_label) or (str(word.speaker_tag) if word.speaker_tag else None)


def _diarized_words(words: Any) -> list[Word]:
    return with_speakers([_word(w) for w in words], [speaker_of(w) for w in words])


def given(confidence: Any) -> float | None:
    """A Speech confidence, None where Google left it unset (0.0 is its documented "not set")."""
    return score(confidence) if confidence else None


async def run(google: GoogleClients, task: Task, request: TranscribeRequest, ctx: CallContext) -> ProviderResult:
    """Up to 60 s in one call; longer WAV in 55-second chunks, one call each (``adapters.kit.long_audio``)."""
    if (request.audio.duration_s or 0.0) > MAX_SECONDS:
        if request.diarize:
            raise Unsupported(
                f"google recognize tells speakers apart in at most {MAX_SECONDS:.0f} s of audio", field="speakers"
            )

        async def one(part: TranscribeRequest) -> TranscribeResult:
            return (await _run_one(google, part, ctx)).result  # type: ignore[return-value]

        whole = await transcribe_in_chunks(request, CHUNK_SECONDS, one)
        if whole is not None:
            return ProviderResult(result=whole, model=MODEL)
    return await _run_one(google, request, ctx)


async def _run_one(google: GoogleClients, request: TranscribeRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(request, google.config.default_language, google.config.speech_model)
    response = await google.call("speech", "recognize", params, ctx)
    result = parsed(google.name, lambda: from_vendor(response))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))

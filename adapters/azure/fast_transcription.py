"""Azure AI Speech's fast transcription (``speech.transcribe`` with ``speakers``): diarization.

The short-audio endpoint (``adapters.azure.speech``) cannot tell speakers apart; the fast
transcription API can, synchronously, on the same Speech resource:
``POST {base}/speechtotext/transcriptions:transcribe?api-version=2024-11-15`` with a
``multipart/form-data`` body of two parts, ``audio`` (the file) and ``definition`` (JSON):
``{"locales": ["en-US"], "diarization": {"enabled": true, "maxSpeakers": N}}``.

- ``maxSpeakers`` is a hint Azure takes from 2 to 35: the request's expected count, raised to 2
  (one expected speaker still lets the service say so); without a count, only ``enabled``.
- Audio: WAV or OGG/Opus, as the short-audio path, and up to ``MAX_AUDIO_S`` (2 hours, the
  documented limit) in one call: no chunks, so the speakers are numbered over the whole file.
- Answer: ``combinedPhrases[].text`` (one per channel) is the text; each of ``phrases`` has
  ``offsetMilliseconds``/``durationMilliseconds``, ``text``, ``confidence``, ``locale``, the
  integer ``speaker`` and its ``words`` (text and times, no confidence). Words take their
  phrase's speaker; labels become ``S1``, ``S2``... in order of first appearance
  (``adapters.kit.speakers``) and consecutive words of one speaker make a segment. The
  confidence is the phrases' mean (null when none has one).
- Host: the configured speech endpoint (a resource's custom domain, a container, a fake),
  else ``https://{region}.api.cognitive.microsoft.com``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from adapters.azure import rest
from adapters.azure.clients import AzureClients
from adapters.azure.speech import checked_audio, locale_for
from adapters.base import CallContext, ProviderResult
from adapters.kit import optional_unit, parsed
from adapters.kit.convert import mean
from adapters.kit.speakers import segments, with_speakers
from omnisense.schema import (
    Segment,
    TranscribeRequest,
    TranscribeResult,
    Word,
)

MODEL = "azure-stt-fast"
PATH = "/speechtotext/transcriptions:transcribe"
API_VERSION = "2024-11-15"
MAX_AUDIO_S = 2 * 3600.0
MIN_SPEAKERS, MAX_SPEAKERS = 2, 35  # maxSpeakers: greater than 1 and less than 36
FILE_TYPES = {"wav": "audio/wav", "ogg": "audio/ogg"}


def definition(request: TranscribeRequest, default_language: str = "en") -> dict[str, Any]:
    """The ``definition`` part: the locale and the diarization settings."""
    diarization: dict[str, Any] = {"enabled": True}
    if request.speaker_count is not None:
        diarization["maxSpeakers"] = min(MAX_SPEAKERS, max(MIN_SPEAKERS, request.speaker_count))
    return {"locales": [locale_for(request.language, default_language)], "diarization": diarization}


def to_vendor(request: TranscribeRequest, default_language: str = "en") -> dict[str, Any]:
    """The multipart body (``data``) and its ``headers``, and the locale asked for."""
    audio = checked_audio(request, "fast transcription", MAX_AUDIO_S)
    spec = definition(request, default_language)
    boundary = f"omnisense-{uuid.uuid4().hex}"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="audio.{audio.format}"\r\n'
        f"Content-Type: {FILE_TYPES[audio.format]}\r\n\r\n"
    )
    tail = (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="definition"\r\n'
        f"Content-Type: application/json\r\n\r\n{json.dumps(spec)}\r\n--{boundary}--\r\n"
    )
    return {
        "params": {"api-version": API_VERSION},
        "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json"},
        "data": head.encode() + audio.data + tail.encode(),
        "locale": spec["locales"][0],
    }


def from_vendor(response: dict[str, Any], locale: str) -> TranscribeResult:
    phrases = [p for p in response.get("phrases") or () if str(p.get("text") or "").strip()]
    words: list[Word] = []
    labels: list[str | None] = []
    for phrase in phrases:
        speaker = None if phrase.get("speaker") is None else str(int(phrase["speaker"]))
        for w in phrase.get("words") or ():
            start = int(w["offsetMilliseconds"]) / 1000
            words.append(Word(str(w["text"]), start, start + int(w["durationMilliseconds"]) / 1000, None))
            labels.append(speaker)
    labelled = with_speakers(words, labels)
    turns = segments(labelled) if words else _phrase_turns(phrases)
    combined = response.get("combinedPhrases") or ()
    text = " ".join(str(c["text"]).strip() for c in combined if str(c.get("text") or "").strip())
    return TranscribeResult(
        text=text or " ".join(str(p["text"]).strip() for p in phrases),
        confidence=mean(optional_unit(p.get("confidence")) for p in phrases),
        words=labelled,
        language=next((str(p["locale"]) for p in phrases if p.get("locale")), locale),
        segments=turns,
    )


def _phrase_turns(phrases: list[dict[str, Any]]) -> list[Segment]:
    """Turns from the phrases themselves, for an answer that carries no word times."""
    spans: list[Word] = []
    for p in phrases:
        start = int(p["offsetMilliseconds"]) / 1000
        spans.append(Word(str(p["text"]).strip(), start, start + int(p["durationMilliseconds"]) / 1000, None))
    labels = [None if p.get("speaker") is None else str(int(p["speaker"])) for p in phrases]
    return segments(with_speakers(spans, labels))


async def transcribe(azure: AzureClients, request: TranscribeRequest, ctx: CallContext) -> ProviderResult:
    call = to_vendor(request, azure.config.default_language)
    url = f"{azure.config.speech_url('api')}{PATH}"
    body, _ = await rest.request(
        azure, "speech", "POST", url, ctx, params=call["params"], headers=call["headers"], data=call["data"]
    )
    response = rest.json_body(body, "speech")
    result = parsed(azure.name, lambda: from_vendor(response, call["locale"]))
    return ProviderResult(result=result, model=MODEL, raw=response if request.include_raw else None)

"""Cloud Text-to-Speech ``text:synthesize``: speech.synthesize.

- Voice: the request's ``voice`` is a Google voice name (``en-US-Neural2-F``), whose locale
  is its first two parts. Otherwise one is chosen by language and gender from ``VOICES``
  (Neural2 voices, female first when no gender is asked); a language missing there is
  sent as language + gender and Google picks the voice.
- Formats: wav (``LINEAR16``; Google's answer already carries the WAV header), mp3 (``MP3``),
  ogg (``OGG_OPUS``), all at 24 kHz.
- Text: at most 5,000 bytes of UTF-8 (the API's limit), checked before the call.
- Price: by the voice family in the name (Standard, WaveNet, Neural2, Studio, Chirp 3 HD);
  a voice Google picks itself is billed as Standard, which is what it picks by default.
- Not streamed (``streaming`` stays False): ``text:synthesize`` answers the whole audio in one
  body; Google's ``StreamingSynthesize`` is bidirectional gRPC for Chirp 3 HD voices only
  (docs/streamed-synthesis.md). A ``stream: true`` request routes around this provider.
"""

from __future__ import annotations

from typing import Any

from adapters.base import CallContext, ProviderResult
from adapters.google.clients import GoogleClients
from adapters.kit import parsed, request_language, utf8_limit
from omnisense.schema import (
    InvalidInput,
    SynthesizeRequest,
    SynthesizeResult,
    Task,
    Unsupported,
    UpstreamBadResponse,
    primary,
)

MODEL = "cloud-tts"
MAX_BYTES = 5_000
RATE = 24_000
ENCODINGS = {"wav": "LINEAR16", "mp3": "MP3", "ogg": "OGG_OPUS"}
FEMALE, MALE = "FEMALE", "MALE"
# locale -> (female, male) Neural2 voices.
VOICES: dict[str, tuple[str, str]] = {
    "en-US": ("en-US-Neural2-F", "en-US-Neural2-D"),
    "en-GB": ("en-GB-Neural2-A", "en-GB-Neural2-B"),
    "en-AU": ("en-AU-Neural2-A", "en-AU-Neural2-B"),
    "fr-FR": ("fr-FR-Neural2-A", "fr-FR-Neural2-B"),
    "de-DE": ("de-DE-Neural2-G", "de-DE-Neural2-H"),
    "es-ES": ("es-ES-Neural2-A", "es-ES-Neural2-B"),
    "it-IT": ("it-IT-Neural2-A", "it-IT-Neural2-C"),
    "pt-BR": ("pt-BR-Neural2-A", "pt-BR-Neural2-B"),
    "ja-JP": ("ja-JP-Neural2-B", "ja-JP-Neural2-C"),
}
DEFAULT_LOCALE = {
    "en": "en-US",
    "fr": "fr-FR",
    "de": "de-DE",
    "es": "es-ES",
    "it": "it-IT",
    "pt": "pt-BR",
    "ja": "ja-JP",
}
FAMILIES = (("Chirp3-HD", "chirp3-hd"), ("Studio", "studio"), ("Neural2", "neural2"), ("Wavenet", "wavenet"))


def family(voice: str | None) -> str:
    """The price family of a voice name (``standard`` for a voice Google picks)."""
    for marker, name in FAMILIES:
        if voice and marker.lower() in voice.lower():
            return name
    return "standard"


def voice_params(request: SynthesizeRequest, default_language: str) -> dict[str, Any]:
    gender = (request.gender or "").lower()
    if gender not in ("", "female", "male"):
        raise InvalidInput(f"gender is 'female' or 'male', not {request.gender!r}", field="gender")
    if request.voice:
        parts = request.voice.split("-")
        if len(parts) < 3:
            raise Unsupported(f"google voices are named like en-US-Neural2-F, not {request.voice!r}", field="voice")
        return {"language_code": f"{parts[0]}-{parts[1]}", "name": request.voice}
    tag = request_language(request.language, default_language)
    assert tag is not None
    locale = tag if tag in VOICES else DEFAULT_LOCALE.get(primary(tag), tag)
    if locale in VOICES:
        female, male = VOICES[locale]
        return {"language_code": locale, "name": male if gender == "male" else female}
    return {"language_code": locale, "ssml_gender": MALE if gender == "male" else FEMALE}


def to_vendor(request: SynthesizeRequest, default_language: str = "en-US") -> dict[str, Any]:
    utf8_limit(request.text, MAX_BYTES, "cloud text-to-speech")
    encoding = ENCODINGS.get(request.format)
    if encoding is None:
        raise Unsupported(f"google cannot produce {request.format!r} (only {', '.join(ENCODINGS)})", field="format")
    return {
        "input": {"text": request.text},
        "voice": voice_params(request, default_language),
        "audio_config": {"audio_encoding": encoding, "sample_rate_hertz": RATE},
    }


def from_vendor(response: Any, params: dict[str, Any], request: SynthesizeRequest) -> SynthesizeResult:
    audio = bytes(response.audio_content)
    if not audio:
        raise UpstreamBadResponse("cloud text-to-speech answered no audio")
    voice = params["voice"].get("name")
    return SynthesizeResult(audio=audio, format=request.format, sample_rate=RATE, voice=voice)


async def run(google: GoogleClients, task: Task, request: SynthesizeRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(request, google.config.default_language)
    response = await google.call("texttospeech", "synthesize_speech", params, ctx)
    result = parsed(google.name, lambda: from_vendor(response, params, request))
    voice = params["voice"].get("name")
    meta = {"voice": params["voice"], "audioBytes": len(result.audio)} if request.include_raw else None
    return ProviderResult(result=result, model=f"{MODEL}-{family(voice)}", raw=meta)

"""Amazon Polly: speech.synthesize with ``SynthesizeSpeech``.

- Voice: the request's ``voice`` is passed as Polly's ``VoiceId``; otherwise it is chosen
  from the tables below by language (``en`` means ``en-US``; ``pt`` means ``pt-BR``) and
  gender ("female" first when none is asked, the other gender when the language has
  only one). The tables follow the provider's ``polly_engine`` (neural by default).
- Formats: mp3, ogg (Ogg Vorbis), pcm (16-bit signed little-endian mono, 16 kHz), and wav,
  which is Polly's PCM wrapped in a WAV header here. mp3/ogg come at Polly's default
  rate: 24 kHz (neural) or 22.05 kHz (standard).
- Text: at most 3,000 characters (Polly's billed-character limit), checked before the call.
- Streamed (``stream``): SynthesizeSpeech's ``AudioStream`` is read as it arrives, 4 KiB at a
  time in the provider's pool, each piece passed on at once; wav is a stream header
  (``adapters.kit.audio_stream``: sizes unknown) sent with the first PCM bytes.
"""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from typing import Any

from adapters.aws.clients import AwsClients
from adapters.aws.common import request_language
from adapters.base import CallContext, ProviderResult
from adapters.kit import parsed
from adapters.kit.audio_stream import wav_stream_header
from omnisense.schema import (
    InvalidInput,
    PayloadTooLarge,
    SynthesizeRequest,
    SynthesizeResult,
    Task,
    Unsupported,
    UpstreamBadResponse,
    primary,
)

MODEL = "polly"
MAX_CHARS = 3_000
STREAM_READ = 4096  # bytes per read of a streamed answer (128 ms of 16 kHz PCM)
PCM_RATE = 16_000
FORMATS = {"mp3": "mp3", "ogg": "ogg_vorbis", "pcm": "pcm", "wav": "pcm"}
# locale -> (female, male); None where Polly has no voice of that gender for the engine.
VOICES: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "neural": {
        "en-US": ("Joanna", "Matthew"),
        "en-GB": ("Amy", "Brian"),
        "en-AU": ("Olivia", None),
        "en-IN": ("Kajal", None),
        "fr-FR": ("Lea", "Remi"),
        "fr-CA": ("Gabrielle", "Liam"),
        "de-DE": ("Vicki", "Daniel"),
        "es-ES": ("Lucia", "Sergio"),
        "es-US": ("Lupe", "Pedro"),
        "es-MX": ("Mia", "Andres"),
        "it-IT": ("Bianca", "Adriano"),
        "pt-BR": ("Camila", "Thiago"),
        "pt-PT": ("Ines", None),
        "nl-NL": ("Laura", None),
        "ja-JP": ("Kazuha", "Takumi"),
        "ko-KR": ("Seoyeon", None),
        "zh-CN": ("Zhiyu", None),
        "ar-AE": ("Hala", "Zayd"),
        "hi-IN": ("Kajal", None),
        "pl-PL": ("Ola", None),
        "sv-SE": ("Elin", None),
        "nb-NO": ("Ida", None),
        "da-DK": ("Sofie", None),
    },
    "standard": {
        "en-US": ("Joanna", "Matthew"),
        "en-GB": ("Amy", "Brian"),
        "fr-FR": ("Lea", "Mathieu"),
        "de-DE": ("Vicki", "Hans"),
        "es-ES": ("Lucia", "Enrique"),
        "es-US": ("Lupe", "Miguel"),
        "it-IT": ("Bianca", "Giorgio"),
        "pt-BR": ("Camila", "Ricardo"),
        "ja-JP": ("Mizuki", "Takumi"),
        "ko-KR": ("Seoyeon", None),
        "zh-CN": ("Zhiyu", None),
        "nl-NL": ("Lotte", "Ruben"),
        "pl-PL": ("Ewa", "Jacek"),
        "ru-RU": ("Tatyana", "Maxim"),
        "tr-TR": ("Filiz", None),
        "sv-SE": ("Astrid", None),
        "da-DK": ("Naja", "Mads"),
        "nb-NO": ("Liv", None),
        "hi-IN": ("Aditi", None),
        "ro-RO": ("Carmen", None),
    },
}
# A bare language picks this locale (else the first in the table with that language).
DEFAULT_LOCALE = {"en": "en-US", "pt": "pt-BR", "es": "es-ES", "fr": "fr-FR", "zh": "zh-CN", "no": "nb-NO"}


def languages(engine: str) -> frozenset[str]:
    found = {primary(locale) for locale in VOICES[engine]}
    return frozenset(found | {"no"} if "nb" in found else found)


def choose_voice(language: str | None, gender: str | None, engine: str = "neural") -> str:
    """A Polly VoiceId for a language and gender hint, or ``Unsupported``."""
    table = VOICES[engine]
    tag = request_language(language, "en-US")
    assert tag is not None
    lang = primary(tag)
    locale = tag if tag in table else DEFAULT_LOCALE.get(lang)
    if locale not in table:
        locale = next((loc for loc in table if primary(loc) == lang or primary(loc) == _alias(lang)), None)
    if locale is None:
        raise Unsupported(f"polly ({engine}) has no voice for {tag!r}", field="language")
    female, male = table[locale]
    if gender is not None and gender.lower() not in ("female", "male"):
        raise InvalidInput(f"gender is 'female' or 'male', not {gender!r}", field="gender")
    first, second = (male, female) if (gender or "").lower() == "male" else (female, male)
    voice = first or second
    assert voice is not None
    return voice


def _alias(lang: str) -> str:
    return {"no": "nb", "nb": "no"}.get(lang, lang)


def to_vendor(request: SynthesizeRequest, engine: str = "neural") -> dict[str, Any]:
    if not request.text.strip():
        raise InvalidInput("the text is empty", field="text")
    if len(request.text) > MAX_CHARS:
        raise PayloadTooLarge(f"polly takes at most {MAX_CHARS} characters, got {len(request.text)}", field="text")
    output = FORMATS.get(request.format)
    if output is None:
        raise Unsupported(f"polly cannot produce {request.format!r} (only {', '.join(FORMATS)})", field="format")
    params = {
        "Text": request.text,
        "TextType": "text",
        "OutputFormat": output,
        "VoiceId": request.voice or choose_voice(request.language, request.gender, engine),
        "Engine": engine,
    }
    if output == "pcm":
        params["SampleRate"] = str(PCM_RATE)
    return params


def sample_rate(params: dict[str, Any]) -> int:
    """The rate of Polly's answer: ours for PCM, Polly's default for mp3/ogg (left unset,
    since 24 kHz, the neural default, is refused by some Polly look-alikes)."""
    if "SampleRate" in params:
        return int(params["SampleRate"])
    return 24_000 if params["Engine"] == "neural" else 22_050


def wav_wrap(pcm: bytes, rate: int = PCM_RATE) -> bytes:
    """Polly's raw PCM (16-bit signed LE mono) in a WAV container."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def from_vendor(audio: bytes, params: dict[str, Any], request: SynthesizeRequest) -> SynthesizeResult:
    if not audio:
        raise UpstreamBadResponse("polly answered no audio")
    rate = sample_rate(params)
    if request.format == "wav":
        audio = wav_wrap(audio, rate)
    return SynthesizeResult(audio=audio, format=request.format, sample_rate=rate, voice=str(params["VoiceId"]))


async def run(aws: AwsClients, task: Task, request: SynthesizeRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(request, aws.config.polly_engine)

    def invoke() -> tuple[bytes, dict[str, Any]]:
        response: dict[str, Any] = aws.client("polly").synthesize_speech(**params)
        stream = response.pop("AudioStream")
        try:
            audio: bytes = stream.read()
        finally:
            stream.close()
        response.pop("ResponseMetadata", None)
        return audio, response

    audio, meta = await aws.run(invoke, ctx=ctx)
    result = parsed(aws.name, lambda: from_vendor(audio, params, request))
    return ProviderResult(result=result, model=f"{MODEL}-{params['Engine']}", raw=meta if request.include_raw else None)


async def stream(aws: AwsClients, request: SynthesizeRequest, ctx: CallContext) -> AsyncIterator[bytes]:
    """The audio as Polly sends it (``adapters.base.StreamingSynthesizer``)."""
    params = to_vendor(request, aws.config.polly_engine)

    def open_stream() -> Any:
        return aws.client("polly").synthesize_speech(**params)["AudioStream"]

    body = await aws.run(open_stream, ctx=ctx)
    head = wav_stream_header(sample_rate(params)) if request.format == "wav" else b""
    sent = False
    try:
        while chunk := await aws.run(body.read, STREAM_READ, ctx=ctx):
            yield head + chunk if not sent else chunk
            sent = True
    finally:
        body.close()
    if not sent:
        raise UpstreamBadResponse("polly answered no audio")

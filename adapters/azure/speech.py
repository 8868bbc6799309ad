"""Azure AI Speech through its documented REST endpoints: speech.synthesize, speech.transcribe.

Whole files go to these documented REST endpoints; live sessions go through the Speech SDK
and its own websocket protocol (``speech_stream.py``), which a local fake also serves.

Synthesis: ``POST {tts}/cognitiveservices/v1`` with an SSML body and
``X-Microsoft-OutputFormat``; the answer's body is the audio.
- Voice: the request's ``voice`` (a full short name such as ``en-US-JennyNeural``), else
  chosen from ``VOICES`` by language (a bare language picks its main locale) and gender
  (female first when none is asked). The SSML's ``xml:lang`` is the voice's locale.
- Formats: wav (``riff-24khz-16bit-mono-pcm``), mp3 (``audio-24khz-48kbitrate-mono-mp3``),
  ogg (``ogg-24khz-16bit-mono-opus``), pcm (``raw-24khz-16bit-mono-pcm``); all 24 kHz.
- Text: at most 10,000 characters (ours, to stay well inside the REST endpoint's 10 minutes
  of audio), escaped into the SSML.

Recognition: ``POST {stt}/speech/recognition/conversation/cognitiveservices/v1?language=en-US&format=detailed``
(the REST API for short audio).
- Audio: WAV (PCM; its header's sample rate goes in the Content-Type, Azure documents
  16 kHz mono) or OGG (Opus), at most **60 seconds** per call (the endpoint would cut it off
  at 60 s). Longer WAV (an async job: the synchronous endpoint refuses over 300 s) is sent in
  55-second chunks, one call each, merged with shifted word times (``adapters.kit.long_audio``);
  longer OGG is refused before the call with 413 naming ``audio``. Batch transcription
  (which reads audio from a URL) is not used.
- Language: the request's, else ``default_language``, as a locale (``en`` -> ``en-US``).
- Answer: ``RecognitionStatus`` ``Success`` -> the ``NBest`` alternative with the highest
  ``Confidence`` (Azure does not promise that ``NBest`` is sorted): text = ``Display``,
  confidence = its ``Confidence``, words from ``Words`` when the service sends them, each
  with its own ``Confidence`` (null where a word has none). ``Offset``/``Duration`` are in
  **100-ns ticks** (divided by 10^7 for seconds). Without ``NBest`` the text is
  ``DisplayText`` with confidence null. ``NoMatch``, ``InitialSilenceTimeout`` and
  ``BabbleTimeout`` mean no speech was recognized: an empty text with confidence null.
  ``Error`` (an error inside a 200) is ``UpstreamBadResponse``.

Streamed synthesis (``stream``): the same call, its chunked body passed on as it arrives;
wav is asked for as raw PCM and sent behind a stream header (``adapters.kit.audio_stream``:
sizes unknown), so that every streamed WAV of the gateway reads the same way.

``GET {tts}/cognitiveservices/voices/list`` (free) is the provider's probe.
"""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import msgspec

from adapters.azure import rest
from adapters.azure.clients import AzureClients
from adapters.base import CallContext, ProviderResult
from adapters.kit import optional_unit, parsed, request_language
from adapters.kit.audio_stream import wav_stream_header
from adapters.kit.long_audio import transcribe_in_chunks
from omnisense.schema import (
    InvalidInput,
    Media,
    PayloadTooLarge,
    SynthesizeRequest,
    SynthesizeResult,
    Task,
    TranscribeRequest,
    TranscribeResult,
    Unsupported,
    UpstreamBadResponse,
    Word,
    primary,
)

TTS_MODEL = "azure-tts-neural"
STT_MODEL = "azure-stt-short"
TTS_PATH = "/cognitiveservices/v1"
VOICES_PATH = "/cognitiveservices/voices/list"
STT_PATH = "/speech/recognition/conversation/cognitiveservices/v1"
MAX_CHARS = 10_000
MAX_AUDIO_S = 60.0
CHUNK_S = 55.0  # longer WAV goes in chunks of this length (jobs): each well inside the 60 s limit
TICKS = 10_000_000  # 100-ns ticks per second
RATE = 24_000
OUTPUT_FORMATS = {
    "wav": "riff-24khz-16bit-mono-pcm",
    "mp3": "audio-24khz-48kbitrate-mono-mp3",
    "ogg": "ogg-24khz-16bit-mono-opus",
    "pcm": "raw-24khz-16bit-mono-pcm",
}
AUDIO_TYPES = {"wav": "audio/wav; codecs=audio/pcm; samplerate={rate}", "ogg": "audio/ogg; codecs=opus"}
# locale -> (female, male) neural voices
VOICES: dict[str, tuple[str, str]] = {
    "en-US": ("JennyNeural", "GuyNeural"),
    "en-GB": ("SoniaNeural", "RyanNeural"),
    "en-AU": ("NatashaNeural", "WilliamNeural"),
    "en-IN": ("NeerjaNeural", "PrabhatNeural"),
    "fr-FR": ("DeniseNeural", "HenriNeural"),
    "fr-CA": ("SylvieNeural", "JeanNeural"),
    "de-DE": ("KatjaNeural", "ConradNeural"),
    "es-ES": ("ElviraNeural", "AlvaroNeural"),
    "es-MX": ("DaliaNeural", "JorgeNeural"),
    "it-IT": ("ElsaNeural", "DiegoNeural"),
    "pt-BR": ("FranciscaNeural", "AntonioNeural"),
    "pt-PT": ("RaquelNeural", "DuarteNeural"),
    "nl-NL": ("ColetteNeural", "MaartenNeural"),
    "pl-PL": ("AgnieszkaNeural", "MarekNeural"),
    "sv-SE": ("SofieNeural", "MattiasNeural"),
    "da-DK": ("ChristelNeural", "JeppeNeural"),
    "nb-NO": ("PernilleNeural", "FinnNeural"),
    "fi-FI": ("NooraNeural", "HarriNeural"),
    "ru-RU": ("SvetlanaNeural", "DmitryNeural"),
    "tr-TR": ("EmelNeural", "AhmetNeural"),
    "ar-SA": ("ZariyahNeural", "HamedNeural"),
    "hi-IN": ("SwaraNeural", "MadhurNeural"),
    "ja-JP": ("NanamiNeural", "KeitaNeural"),
    "ko-KR": ("SunHiNeural", "InJoonNeural"),
    "zh-CN": ("XiaoxiaoNeural", "YunxiNeural"),
}
MAIN_LOCALE = {"en": "en-US", "fr": "fr-FR", "es": "es-ES", "pt": "pt-BR", "zh": "zh-CN", "no": "nb-NO"}
LANGUAGES = frozenset({primary(loc) for loc in VOICES} | {"no"})


def locale_for(language: str | None, default: str = "en") -> str:
    """A locale Azure Speech knows for a BCP-47 tag (``en`` -> ``en-US``)."""
    tag = request_language(language, default)
    assert tag is not None
    if tag in VOICES:
        return tag
    lang = primary(tag)
    locale = MAIN_LOCALE.get(lang) or next((loc for loc in VOICES if primary(loc) == lang), None)
    if locale is None:
        raise Unsupported(f"azure speech has no locale for {tag!r} here", field="language")
    return locale


def choose_voice(request: SynthesizeRequest) -> tuple[str, str]:
    """(voice short name, its locale)."""
    if request.voice:
        parts = request.voice.split("-")
        if len(parts) < 3:
            raise InvalidInput(
                f"an Azure voice is named like 'en-US-JennyNeural', not {request.voice!r}", field="voice"
            )
        return request.voice, "-".join(parts[:2])
    gender = (request.gender or "female").lower()
    if gender not in ("female", "male"):
        raise InvalidInput(f"gender is 'female' or 'male', not {request.gender!r}", field="gender")
    locale = locale_for(request.language)
    female, male = VOICES[locale]
    return f"{locale}-{male if gender == 'male' else female}", locale


def ssml(text: str, voice: str, locale: str) -> str:
    return (
        f"<speak version='1.0' xml:lang={quoteattr(locale)} xmlns='http://www.w3.org/2001/10/synthesis'>"
        f"<voice name={quoteattr(voice)}>{escape(text)}</voice></speak>"
    )


def synthesize_to_vendor(request: SynthesizeRequest) -> dict[str, Any]:
    if not request.text.strip():
        raise InvalidInput("the text is empty", field="text")
    if len(request.text) > MAX_CHARS:
        raise PayloadTooLarge(f"azure speech takes at most {MAX_CHARS} characters", field="text")
    output = OUTPUT_FORMATS.get(request.format)
    if output is None:
        raise Unsupported(
            f"azure speech cannot produce {request.format!r} (only {', '.join(OUTPUT_FORMATS)})", field="format"
        )
    voice, locale = choose_voice(request)
    return {
        "headers": {"Content-Type": "application/ssml+xml", "X-Microsoft-OutputFormat": output},
        "data": ssml(request.text, voice, locale).encode("utf-8"),
        "voice": voice,
    }


def synthesize_from_vendor(audio: bytes, voice: str, request: SynthesizeRequest) -> SynthesizeResult:
    if not audio:
        raise UpstreamBadResponse("azure speech answered no audio")
    return SynthesizeResult(audio=audio, format=request.format, sample_rate=RATE, voice=voice)


def checked_audio(request: TranscribeRequest, endpoint: str, max_s: float) -> Media:
    """The uploaded audio ``endpoint`` (short audio, fast transcription) takes, or the 4xx naming why not."""
    audio = request.audio
    if audio.uri:
        raise Unsupported("azure speech reads uploaded audio, not a URI", field="audio")
    if not audio.data:
        raise InvalidInput("the audio is empty", field="audio")
    if audio.format not in AUDIO_TYPES:
        raise Unsupported(f"azure {endpoint} reads WAV or OGG/Opus, not {audio.format!r}", field="audio")
    if audio.duration_s is not None and audio.duration_s > max_s:
        most = f"{max_s / 3600:.0f} hours" if max_s >= 3600 else f"{max_s:.0f} s"
        got = f"got {audio.duration_s:.1f} s"
        raise PayloadTooLarge(f"azure {endpoint} takes at most {most} of audio, {got}", field="audio")
    return audio


def transcribe_to_vendor(request: TranscribeRequest, default_language: str = "en") -> dict[str, Any]:
    audio = checked_audio(request, "speech (short audio)", MAX_AUDIO_S)
    content_type = AUDIO_TYPES[audio.format]
    if audio.format == "wav":
        content_type = content_type.format(rate=wav_rate(audio.data))
    return {
        "params": {"language": locale_for(request.language, default_language), "format": "detailed"},
        "headers": {"Content-Type": content_type, "Accept": "application/json"},
        "data": audio.data,
    }


def wav_rate(data: bytes) -> int:
    """The WAV's sample rate for the Content-Type (Azure documents 16 kHz mono PCM)."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            return int(w.getframerate())
    except (wave.Error, EOFError):
        return 16_000


def transcribe_from_vendor(response: dict[str, Any], language: str) -> TranscribeResult:
    status = str(response["RecognitionStatus"])
    if status in ("NoMatch", "InitialSilenceTimeout", "BabbleTimeout"):
        return TranscribeResult(text="", confidence=None, words=[], language=language)
    if status != "Success":
        raise UpstreamBadResponse(f"azure speech: an error inside a 200: RecognitionStatus {status}")
    if not response.get("NBest"):
        return TranscribeResult(text=str(response.get("DisplayText") or ""), confidence=None, language=language)
    best = max(response["NBest"], key=lambda alt: float(alt.get("Confidence") or 0.0))
    words = []
    for w in best.get("Words") or ():
        start = int(w["Offset"]) / TICKS
        end = start + int(w["Duration"]) / TICKS
        words.append(Word(str(w["Word"]), start, end, optional_unit(w.get("Confidence"))))
    text = str(best.get("Display") or best.get("Lexical") or "")
    return TranscribeResult(text=text, confidence=optional_unit(best.get("Confidence")), words=words, language=language)


async def synthesize(azure: AzureClients, task: Task, request: SynthesizeRequest, ctx: CallContext) -> ProviderResult:
    call = synthesize_to_vendor(request)
    url = f"{azure.config.speech_url('tts')}{TTS_PATH}"
    audio, _ = await rest.request(azure, "speech", "POST", url, ctx, headers=call["headers"], data=call["data"])
    result = parsed(azure.name, lambda: synthesize_from_vendor(audio, call["voice"], request))
    return ProviderResult(result=result, model=TTS_MODEL, raw={"voice": call["voice"]} if request.include_raw else None)


async def synthesize_stream(azure: AzureClients, request: SynthesizeRequest, ctx: CallContext) -> AsyncIterator[bytes]:
    """The audio as Azure sends it (``adapters.base.StreamingSynthesizer``)."""
    wav = request.format == "wav"
    call = synthesize_to_vendor(msgspec.structs.replace(request, format="pcm") if wav else request)
    url = f"{azure.config.speech_url('tts')}{TTS_PATH}"
    head = wav_stream_header(RATE) if wav else b""
    sent = False
    async for piece in rest.stream(azure, "speech", url, ctx, headers=call["headers"], data=call["data"]):
        if piece:
            yield head + piece if not sent else piece
            sent = True
    if not sent:
        raise UpstreamBadResponse("azure speech answered no audio")


async def transcribe(azure: AzureClients, task: Task, request: TranscribeRequest, ctx: CallContext) -> ProviderResult:
    """Up to 60 s in one call; longer WAV in 55-second chunks, one call each (``adapters.kit.long_audio``)."""
    if (request.audio.duration_s or 0.0) > MAX_AUDIO_S:

        async def one(part: TranscribeRequest) -> TranscribeResult:
            return (await _transcribe_one(azure, part, ctx)).result  # type: ignore[return-value]

        whole = await transcribe_in_chunks(request, CHUNK_S, one)
        if whole is not None:
            return ProviderResult(result=whole, model=STT_MODEL)
    return await _transcribe_one(azure, request, ctx)


async def _transcribe_one(azure: AzureClients, request: TranscribeRequest, ctx: CallContext) -> ProviderResult:
    call = transcribe_to_vendor(request, azure.config.default_language)
    url = f"{azure.config.speech_url('stt')}{STT_PATH}"
    body, _ = await rest.request(
        azure, "speech", "POST", url, ctx, params=call["params"], headers=call["headers"], data=call["data"]
    )
    response = rest.json_body(body, "speech")
    language = call["params"]["language"]
    result = parsed(azure.name, lambda: transcribe_from_vendor(response, language))
    return ProviderResult(result=result, model=STT_MODEL, raw=response if request.include_raw else None)


async def voices(azure: AzureClients) -> int:
    """How many voices the region offers (the free probe)."""
    url = f"{azure.config.speech_url('tts')}{VOICES_PATH}"
    body, _ = await rest.request(azure, "speech", "GET", url, None, probe=True)
    listed = rest.json_body(body, "speech")
    return len(listed) if isinstance(listed, list) else 0

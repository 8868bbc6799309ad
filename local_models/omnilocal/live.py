"""Live transcription with Moonshine tiny-en (``moonshine-voice==0.1.0``: the model files ship
inside the wheel, ``moonshine_voice/assets/tiny-en``; later versions download them instead).

One ``Transcriber`` per process, loaded once; one Moonshine stream per session. Moonshine
finds line (utterance) boundaries itself with its voice-activity detector: while a line grows
it re-transcribes it; a line that ended at a pause is *complete* (a *final*, never revised).
Partials are stable once shown: a word is shown only when two consecutive transcriptions of
the line agree on every word up to it (local agreement), and a shown word is never taken
back, so each partial of a line extends the one before; the final is the model's last word on
the line. Times are seconds from the session's first sample.

Every call into the model runs on one worker thread (``LiveModel.executor``): the C library's
transcriber is shared by the streams, and one thread keeps it used by one at a time (the
ctypes calls release the GIL, so the event loop stays free).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

UPDATE_S = float(os.environ.get("LOCAL_MODELS_LIVE_UPDATE_S", "0.5"))  # seconds of audio between partials
MODEL = "moonshine-tiny-en"


@dataclass(frozen=True)
class LiveEvent:
    final: bool
    text: str
    start_s: float
    end_s: float

    def as_json(self) -> dict[str, Any]:
        return {"type": "final" if self.final else "partial", "text": self.text,
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}  # fmt: skip


def _norm(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


class LiveModel:
    """The process's Moonshine transcriber, loaded on first use (or by ``load`` in the background)."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moonshine")
        self._lock = threading.Lock()
        self._transcriber: Any = None

    @staticmethod
    def available() -> bool:
        try:
            import moonshine_voice  # noqa: F401
        except Exception:
            return False
        return True

    def load_in_background(self) -> None:
        if self.available():
            threading.Thread(target=self.load, name="moonshine-load", daemon=True).start()

    def load(self) -> Any:
        with self._lock:
            if self._transcriber is None:
                from moonshine_voice import ModelArch, get_assets_path
                from moonshine_voice.transcriber import Transcriber

                path = os.path.join(get_assets_path(), "tiny-en")  # inside the wheel: nothing is downloaded
                self._transcriber = Transcriber(model_path=path, model_arch=ModelArch.TINY, update_interval=UPDATE_S)
            return self._transcriber

    def open(self, sample_rate: int, interim: bool) -> LiveStream:
        return LiveStream(self.load(), sample_rate, interim)


class LiveStream:
    """One session's Moonshine stream: ``add`` PCM, get the events it caused; ``finish`` at the end."""

    def __init__(self, transcriber: Any, sample_rate: int, interim: bool) -> None:
        self.rate = sample_rate
        self.interim = interim
        self.stream = transcriber.create_stream(update_interval=UPDATE_S)
        self.stream.start()
        self._events: list[LiveEvent] = []
        self._previous: dict[int, list[str]] = {}  # line id -> its last transcription's words
        self._shown: dict[int, list[str]] = {}  # line id -> the words its partials have shown
        self._done: set[int] = set()
        self.stream.add_listener(self._on_event)

    def _on_event(self, event: Any) -> None:
        line = getattr(event, "line", None)
        if line is None or line.line_id in self._done:
            return
        text = (line.text or "").strip()
        span = (float(line.start_time), float(line.start_time) + float(line.duration))
        if line.is_complete:
            self._done.add(line.line_id)
            if text:
                self._events.append(LiveEvent(True, text, *span))
        elif self.interim and text:
            shown = self._stable(line.line_id, text.split())
            if shown is not None:
                self._events.append(LiveEvent(False, " ".join(shown), *span))

    def _stable(self, line: int, words: list[str]) -> list[str] | None:
        """The line's shown words extended by those this and the last transcription agree on; None: nothing new."""
        previous, self._previous[line] = self._previous.get(line, []), words
        shown = self._shown.get(line, [])
        agreed = 0
        for now, before in zip(words, previous, strict=False):
            if _norm(now) != _norm(before):
                break
            agreed += 1
        if agreed <= len(shown) or [_norm(w) for w in words[: len(shown)]] != [_norm(w) for w in shown]:
            return None
        self._shown[line] = shown + words[len(shown) : agreed]
        return self._shown[line]

    def _take(self) -> list[LiveEvent]:
        out, self._events = self._events, []
        return out

    def add(self, pcm: bytes) -> list[LiveEvent]:
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float32) / 32768.0
        if samples.size:
            self.stream.add_audio(samples.tolist(), self.rate)
        return self._take()

    def finish(self) -> list[LiveEvent]:
        """The last finals: Moonshine completes the open line at the stream's stop."""
        self.stream.stop()
        return self._take()

    def close(self) -> None:
        self.stream.close()

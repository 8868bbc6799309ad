"""The synchronous Python client.

from omnisense import Client
with Client() as omni:                       # OMNISENSE_URL / OMNISENSE_API_KEY
    labels = omni.vision.labels("photo.jpg").result.labels
    mood = omni.text.sentiment("What a lovely day").result.label
    audio = omni.speech.synthesize("Hello")  # bytes
    for chunk in omni.synthesize_stream("Hello. How are you?"):  # audio while it is produced
        player.write(chunk)

The methods live in ``omnisense.client.methods`` (written once for both clients); this
module only sends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import TypeVar

import httpx

from omnisense.client.calls import Call
from omnisense.client.jobs import Flow, JobsAPI, drive_sync, followed
from omnisense.client.methods import SpeechAPI, Sync, TextAPI, VideoAPI, VisionAPI
from omnisense.client.streams import iterate_sync, options, stream_call
from omnisense.client.transport import NEVER_SENT, error_from, request_kwargs, retry_wait, settings
from omnisense.schema import OmnisenseError

R = TypeVar("R")


class Client:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 2,
        http: httpx.Client | None = None,
        residency: str | None = None,
    ) -> None:
        url, headers = settings(base_url, api_key)
        self._http = http or httpx.Client(base_url=url, headers=headers, timeout=timeout)
        if residency:  # every request, jobs included: processed only there ("eu", "eu, ch")
            self._http.headers["X-Omnisense-Residency"] = residency
        self.retries = retries
        self.vision = VisionAPI[Sync](self.send)
        self.text = TextAPI[Sync](self.send)
        self.speech = SpeechAPI[Sync](self.send)
        self.video = VideoAPI[Sync](self.send)
        self.jobs = JobsAPI[Sync](self.run_flow)

    def run_flow(self, flow: Flow[R]) -> R:
        """Run a ``client.jobs`` flow on this client's connection."""
        return drive_sync(self._http, flow)

    def send(self, call: Call[R]) -> R:
        """Send ``call``; sent again (``retries`` more times at most) only by ``transport.retry_wait``'s rule:
        never reached the gateway, or 503/429 with ``Retry-After``."""
        attempt = 0
        while True:
            try:
                response = self._http.post(call.path, **request_kwargs(call))
                return drive_sync(self._http, followed(response, call.result_type))
            except (OmnisenseError, *NEVER_SENT) as exc:
                wait = retry_wait(exc, attempt, self.retries)
                if wait is None:
                    raise
            time.sleep(wait)
            attempt += 1

    def synthesize_stream(
        self,
        text: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        gender: str | None = None,
        format: str = "wav",
        provider: str | None = None,
    ) -> Iterator[bytes]:
        """The synthesized audio while the gateway produces it (``stream: true``), chunk by chunk.
        A WAV stream's header has unknown sizes (0xFFFFFFFF); ``StreamInterrupted`` when the
        stream breaks after its first byte (``omnisense.client.streams``)."""
        call = stream_call(text, voice=voice, language=language, gender=gender, format=format, provider=provider)
        attempt = 0
        while True:
            try:
                with self._http.stream("POST", call.path, **options(call)) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise error_from(response)
                    yield from iterate_sync(response)
                    return
            except (OmnisenseError, *NEVER_SENT) as exc:
                wait = retry_wait(exc, attempt, self.retries)  # never after the first byte (a 502)
                if wait is None:
                    raise
            time.sleep(wait)
            attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

"""The provider protocol (DESIGN §4): what the dispatcher calls, and what it gets back.

A provider kind is a class with a ``config_type`` (its policy block, a
``adapters.kit.ProviderConfig``) built as ``Kind(name, config)`` by the registry; the
gateway then awaits ``start()`` once before routing to it. The helpers every adapter
shares (thread pool, error mapping, prices, result conventions) are in ``adapters.kit``.

Optional abilities are protocols of their own, which the gateway tests with ``isinstance``
(``runtime_checkable``: the methods must be there, their signatures are mypy's to check):
``Replicated`` (a provider spread over replicas), ``SupervisesModelServer`` (a provider
that runs its model server as a child process) and ``PreparesWorkers`` (a provider *kind*
with work to do once before ``omnisense serve --workers N`` starts its workers). The
``local`` kind has all three.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import msgspec

from omnisense.schema import Health, ProviderInfo, SynthesizeRequest, Task, TaskRequest, TaskResult

if TYPE_CHECKING:
    from adapters.kit.config import ProviderConfig


class CallContext(msgspec.Struct, kw_only=True):
    """What a provider knows about the request it serves."""

    request_id: str
    deadline: float  # time.monotonic() by which the answer must be back: the caller cancels the call then
    key_id: str | None = None

    def remaining_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


class ProviderResult(msgspec.Struct, kw_only=True):
    """A provider's answer: the normalized result, the model that made it, the raw reply."""

    result: TaskResult
    model: str
    raw: Any = None
    cost_usd: float | None = None  # when this request is billed unlike info.prices[task] (Textract pages)


@runtime_checkable
class Provider(Protocol):
    info: ProviderInfo

    async def start(self) -> None:
        """Once, before the first ``run``: connect, learn capabilities (may be a no-op)."""
        ...

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult: ...

    async def probe(self) -> Health:
        """A cheap health check that costs no money."""
        ...

    async def aclose(self) -> None: ...


class ProviderClass(Protocol):
    """A provider kind: its config class, and how it is built from a validated config."""

    config_type: ClassVar[type[ProviderConfig]]

    def __call__(self, name: str, config: Any) -> Provider: ...


class PiiSpan(msgspec.Struct, kw_only=True):
    """Personal data found in a text: code-point offsets and the gateway's type (PERSON, EMAIL,
    PHONE, CARD, IBAN, NATIONAL_ID, ADDRESS)."""

    begin: int
    end: int
    type: str
    score: float = 0.0


class PiiFound(msgspec.Struct, kw_only=True):
    spans: list[list[PiiSpan]]  # one list per text asked about
    version: str  # the redactor's models and rules


class BlurredImage(msgspec.Struct, kw_only=True):
    image: bytes  # the image with the regions blurred, in ``format``
    format: str
    counts: dict[str, int]  # {"faces": n, "text_regions": m}
    version: str
    width: int | None = None  # upright (EXIF rotation applied, and dropped from the file)
    height: int | None = None


@runtime_checkable
class Redacts(Protocol):
    """A provider whose server redacts on our side (``local``): PII in texts, faces and text in
    images (``gateway.redaction`` calls it before an untrusted provider sees an input)."""

    async def find_pii(self, texts: list[str], timeout_s: float) -> PiiFound: ...

    async def blur(self, image: bytes, *, faces: bool, text: bool, timeout_s: float) -> BlurredImage: ...


@runtime_checkable
class Replicated(Protocol):
    """A provider spread over replicas: ``GET /v1/providers`` lists them, ``/metrics`` counts them."""

    def replica_status(self) -> list[dict[str, Any]]:
        """Each replica: url, ready, in_flight, answered (and error, down_s when down)."""
        ...

    def replica_counts(self) -> tuple[int, int]:
        """(ready, all) replicas."""
        ...


@runtime_checkable
class SupervisesModelServer(Protocol):
    """A provider that may run its model server as a child process, restarted when it dies."""

    def model_server_restarts(self) -> int | None:
        """Restarts so far (None: this gateway does not supervise one); on ``/metrics``."""
        ...


class Stoppable(Protocol):
    def stop(self) -> None: ...


class CannotServe(RuntimeError):
    """A provider kind cannot be served as configured (a port held by a stranger): the
    message is for the operator, and ``omnisense serve`` stops with it."""


@runtime_checkable
class PreparesWorkers(Protocol):
    """A provider *kind* (the class, which ``isinstance`` checks) with work to do once, in
    the ``omnisense serve`` process, before the workers start: ``local`` starts the one
    model server that the workers share when a block has no ``url``."""

    def before_workers(self, configs: Mapping[str, Any]) -> Stoppable | None:
        """Given this kind's blocks (name -> validated config): what ``serve`` stops when it
        stops, or None; ``CannotServe`` when the gateway must not start."""
        ...


class Hypothesis(msgspec.Struct, frozen=True, kw_only=True):
    """A streaming provider's piece of transcript. Times are seconds from the first byte of
    audio sent on *this* stream; the gateway shifts them to the session's time line."""

    text: str
    start_s: float
    end_s: float
    final: bool  # True: this span will not be revised; False: a partial, replaced by the next one
    confidence: float | None = None


@runtime_checkable
class TranscriptionStream(Protocol):
    """One open live-transcription connection to a vendor or a model server.

    Audio is always 16-bit little-endian mono PCM at the rate given to ``open_transcription``
    (the gateway decodes WAV before it gets here). ``send`` may block: that is backpressure.
    Iterating yields hypotheses until the vendor has answered everything after ``finish``;
    an error while iterating is an ``UpstreamError`` like any ``run``'s.
    """

    max_audio_s: float | None
    """The vendor's cap on one stream, in seconds of audio or of wall-clock time since it
    opened, whichever runs out first (Google: about 5 minutes); None: no cap. The gateway
    rolls a longer session over to a new stream of the same provider before the cap."""

    async def send(self, pcm: bytes) -> None: ...

    async def finish(self) -> None:
        """No more audio: the vendor flushes its last finals, then the iteration ends."""
        ...

    def __aiter__(self) -> AsyncIterator[Hypothesis]: ...

    async def aclose(self) -> None:
        """Release the connection now (idempotent); after a failover, or when the session ends."""
        ...


@runtime_checkable
class StreamingTranscriber(Protocol):
    """A provider that can transcribe live (``TaskSupport.streaming`` says so for speech.transcribe)."""

    async def open_transcription(
        self, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
    ) -> TranscriptionStream: ...


@runtime_checkable
class StreamingSynthesizer(Protocol):
    """A provider that can send synthesized audio while it is still being produced."""

    def synthesize_stream(self, request: SynthesizeRequest, ctx: CallContext) -> AsyncIterator[bytes]:
        """The audio in ``request.format``, chunk by chunk; the first chunk as soon as it exists."""
        ...

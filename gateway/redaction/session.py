"""One request's redaction: what it asks for, what it removed, and the calls it guards.

``Redaction`` is built per policy (one per dispatcher): which providers are trusted, which
provider redacts, what each route and each key asks. ``Redaction.session`` gives a request its
``RedactionSession`` (None when nothing is asked), which the dispatcher consults around every
call of a provider (``gateway.dispatch._attempt``, shadows too):

- ``request_for(provider, ...)``: the input as that provider may see it. Trusted: as sent.
  Untrusted: PII replaced by typed placeholders, faces / text regions blurred, by the
  redactor on our side, once per request (retries, fallbacks and hedges share the result).
  The redactor down, erring or slow: ``RedactionUnavailable`` (503, nothing sent), or with
  ``on_redaction_error: skip_untrusted`` ``RedactionSkipped`` (the next candidate is tried).
- ``answer(...)``: the provider's result, its placeholders mapped back (entities, key
  phrases, translation), then OCR text / transcripts redacted when ``redact_output: [pii]``.

The record gets counts per type and the redactor's version (``RedactionSummary``), never
a value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from adapters.base import CallContext, PiiFound, PiiSpan, Provider, ProviderResult, Redacts
from gateway.logs.record import RedactionSummary, RequestLog
from gateway.redaction import outputs
from gateway.redaction.text import Masked, Numbering, restore
from omnisense.schema import (
    Attempt,
    EntitiesResult,
    Health,
    ImageRequest,
    KeyPhrase,
    KeyPhrasesResult,
    Media,
    RedactionSkipped,
    RedactionUnavailable,
    Task,
    TaskRequest,
    TaskResult,
    TranslateResult,
)
from policies.model import PolicyFile, Route
from policies.redaction import is_trusted, redactor_name

IMAGE_KINDS = frozenset({"faces", "text"})
TEXTS_PER_CALL = 256  # the model server's /redact/text takes at most this many texts at once


@dataclass(frozen=True)
class KeyRedaction:
    """What an API key adds to every route it calls (``keys[].redact``, ``redact_output``)."""

    inputs: frozenset[str] = frozenset()
    outputs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rule:
    inputs: frozenset[str]
    outputs: frozenset[str]
    on_error: str  # "fail" | "skip_untrusted"


class Redaction:
    """The policy's side: trust per provider, the redactor, each route's and key's asks."""

    def __init__(
        self, policy: PolicyFile, providers: Mapping[str, Provider], keys: Mapping[str, KeyRedaction] | None = None
    ) -> None:
        self.trusted = {name: is_trusted(block) for name, block in policy.providers.items()}
        name = redactor_name(policy)
        found = providers.get(name) if name is not None else None
        self.redactor: Redacts | None = found if isinstance(found, Redacts) else None
        self.redactor_name = name
        self.timeout_s = policy.redactor.timeout_s
        self.keys = dict(keys or {})

    def rule(self, task: Task, route: Route | None, key_id: str | None) -> Rule | None:
        key = self.keys.get(key_id) if key_id is not None else None
        inputs = set(route.redact if route else ()) | set(key.inputs if key else ())
        outputs_ = set(route.redact_output if route else ()) | set(key.outputs if key else ())
        inputs &= applicable_inputs(task)
        if task not in outputs.REDACTABLE_OUTPUTS:
            outputs_.clear()
        if not inputs and not outputs_:
            return None
        return Rule(frozenset(inputs), frozenset(outputs_), route.on_redaction_error if route else "fail")

    def session(self, task: Task, route: Route | None, record: RequestLog) -> RedactionSession | None:
        rule = self.rule(task, route, record.key_id)
        return None if rule is None else RedactionSession(self, rule, record)


def applicable_inputs(task: Task) -> set[str]:
    if task.modality == "vision":
        return set(IMAGE_KINDS)
    if task.modality == "text" or task is Task.SPEECH_SYNTHESIZE:
        return {"pii"}
    return set()  # audio in: not redacted (docs/data-protection.md)


class _Failed(Exception):
    """The redactor could not answer (down, error, timeout, no redactor)."""


@dataclass(frozen=True)
class _Prepared:
    request: TaskRequest
    masked: Masked | None  # the text sent, for mapping the answer back


class RedactionSession:
    def __init__(self, redaction: Redaction, rule: Rule, record: RequestLog) -> None:
        self.redaction = redaction
        self.rule = rule
        self.record = record
        self.numbering = Numbering()
        self._prepared: asyncio.Future[_Prepared] | None = None

    # -- the input -------------------------------------------------------------------------------

    def trusts(self, provider: str) -> bool:
        return self.redaction.trusted.get(provider, False)

    async def request_for(self, provider: str, request: TaskRequest) -> TaskRequest:
        """``request`` as ``provider`` may see it (raises RedactionUnavailable / RedactionSkipped)."""
        return (await self._prepare_for(provider, request)).request

    async def attempt_request(self, provider: str, request: TaskRequest) -> TaskRequest:
        """``request_for`` for a dispatcher attempt: a provider skipped for redaction is an attempt
        on the record (outcome ``skipped``), not the provider's failure (no circuit, no latency)."""
        try:
            return await self.request_for(provider, request)
        except RedactionUnavailable as exc:
            self.record.attempts.append(skipped(provider, exc))
            raise

    async def _prepare_for(self, provider: str, request: TaskRequest) -> _Prepared:
        if not self.rule.inputs or self.trusts(provider):
            return _Prepared(request, None)
        if self._prepared is None:
            self._prepared = asyncio.ensure_future(self._prepare(request))
        try:
            return await asyncio.shield(self._prepared)  # a cancelled hedge leaves it to the others
        except _Failed as exc:
            self._summary().outcome = "unavailable"
            if self.rule.on_error == "skip_untrusted":
                self._summary().outcome = "skipped_untrusted"
                raise RedactionSkipped(f"redaction unavailable ({exc}): untrusted {provider} skipped") from None
            raise RedactionUnavailable(f"redaction unavailable: {exc}; nothing was sent to {provider}") from None

    async def _prepare(self, request: TaskRequest) -> _Prepared:
        if isinstance(request, ImageRequest):
            return _Prepared(await self._blur(request), None)
        text = getattr(request, "text", None)
        if not isinstance(text, str):
            return _Prepared(request, None)
        found = await self.find([text])
        masked = Masked.of(text, found.spans[0], self.numbering)
        self._count("input", masked.counts(), found.version)
        return _Prepared(msgspec.structs.replace(request, text=masked.text), masked)

    async def _blur(self, request: ImageRequest) -> ImageRequest:
        media = request.image
        if not media.data:
            raise _Failed("an image given by reference cannot be blurred on our side")
        faces, text = "faces" in self.rule.inputs, "text" in self.rule.inputs
        out = await self._call(lambda r, t: r.blur(media.data, faces=faces, text=text, timeout_s=t))
        self._count("input", {"FACE": out.counts.get("faces", 0), "TEXT_REGION": out.counts.get("text_regions", 0)},
                    out.version)  # fmt: skip
        # the redactor answers the image upright (its EXIF rotation applied): its own size
        blurred = Media(data=out.image, format=out.format, width=out.width or media.width,
                        height=out.height or media.height)  # fmt: skip
        return msgspec.structs.replace(request, image=blurred)

    async def find(self, texts: list[str]) -> PiiFound:
        """PII spans of each text, asked ``TEXTS_PER_CALL`` texts at a time (a long OCR document's lines)."""
        spans: list[list[PiiSpan]] = []
        version = ""
        for at in range(0, len(texts), TEXTS_PER_CALL):
            part = texts[at : at + TEXTS_PER_CALL]
            found: PiiFound = await self._call(lambda r, t, part=part: r.find_pii(part, t))
            if len(found.spans) != len(part):
                raise _Failed("the redactor answered for a different number of texts")
            spans += found.spans
            version = version or found.version
        return PiiFound(spans=spans, version=version)

    async def _call(self, call: Any) -> Any:
        redactor = self.redaction.redactor
        if redactor is None:
            raise _Failed(f"no redactor: the policy has no local provider ({self.redaction.redactor_name!r})")
        timeout = self.redaction.timeout_s
        try:
            async with asyncio.timeout(timeout):
                return await call(redactor, timeout)
        except TimeoutError:
            raise _Failed(f"the redactor gave no answer within {timeout:g} s") from None
        except Exception as exc:  # down, an error answer, a malformed one: all fail closed
            raise _Failed(f"the redactor failed: {type(exc).__name__}: {str(exc)[:200]}") from None

    # -- the answer ------------------------------------------------------------------------------

    async def answer(
        self, provider: str, request: TaskRequest, out: ProviderResult, *, served: bool = True
    ) -> ProviderResult:
        """The provider's answer for the caller: placeholders mapped back, outputs redacted
        (``served``: an answer the caller gets; a shadow's is only compared, not redacted)."""
        prepared = await self._prepare_for(provider, request) if self.rule.inputs else None
        result = out.result
        if prepared is not None and prepared.masked is not None:
            result = map_back(result, prepared.masked, self.numbering.values())
        if self.rule.outputs and served:
            try:
                result, counts, version = await outputs.redact(self, result)
            except _Failed as exc:
                self._summary().outcome = "unavailable"
                raise RedactionUnavailable(f"redaction of the answer unavailable: {exc}") from None
            self._count("output", counts, version)
            # the vendor's own answer (``include_raw``) holds the text unredacted: never passed on
            return msgspec.structs.replace(out, result=result, raw=None)
        return out if result is out.result else msgspec.structs.replace(out, result=result)

    # -- the record ------------------------------------------------------------------------------

    def _summary(self) -> RedactionSummary:
        if self.record.redaction is None:
            self.record.redaction = RedactionSummary()
        return self.record.redaction

    def _count(self, side: str, counts: Mapping[str, int], version: str) -> None:
        summary = self._summary()
        into = summary.input if side == "input" else summary.output
        for kind, n in counts.items():
            if n:
                into[kind] = into.get(kind, 0) + n
        versions = [v for v in (summary.version or "").split("; ") if v]
        if version and version not in versions:
            summary.version = "; ".join([*versions, version])


def map_back(result: TaskResult, masked: Masked, values: dict[str, str]) -> TaskResult:
    """Offsets and text of a result about the masked text, as the caller's original text has them."""
    if isinstance(result, EntitiesResult):
        entities = []
        for e in result.entities:
            b, end, text = masked.span_back(e.begin, e.end)
            entities.append(msgspec.structs.replace(e, begin=b, end=end, text=text))
        return EntitiesResult(entities=entities)
    if isinstance(result, KeyPhrasesResult):
        phrases: list[KeyPhrase] = []
        for p in result.phrases:
            b, end, text = masked.span_back(p.begin, p.end)
            phrases.append(msgspec.structs.replace(p, begin=b, end=end, text=text))
        return KeyPhrasesResult(phrases=phrases)
    if isinstance(result, TranslateResult):
        return msgspec.structs.replace(result, text=restore(result.text, values))
    return result


def skipped(provider: str, exc: RedactionUnavailable) -> Attempt:
    """The attempt of a provider never called because its input could not be redacted."""
    exc.provider = provider
    return Attempt(provider=provider, outcome="skipped", latency_ms=0.0, error_type=type(exc).__name__,
                   detail=exc.detail[:300])  # fmt: skip


def guarded(session: RedactionSession | None, name: str, provider: Provider) -> Provider:
    """``provider`` as a shadow of a request: through the request's redaction, when it has one."""
    return provider if session is None else GuardedShadow(name, provider, session)


class GuardedShadow:
    """A shadow provider seen through the request's redaction: shadows get what a served call gets."""

    def __init__(self, name: str, provider: Provider, session: RedactionSession) -> None:
        self.name, self.provider, self.session = name, provider, session
        self.info = provider.info

    async def start(self) -> None:
        return None

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        sent = await self.session.request_for(self.name, request)
        out = await self.provider.run(task, sent, ctx)
        return await self.session.answer(self.name, request, out, served=False)

    async def probe(self) -> Health:
        return await self.provider.probe()

    async def aclose(self) -> None:
        return None


__all__ = ["GuardedShadow", "KeyRedaction", "Redaction", "RedactionSession", "Rule", "guarded", "map_back", "skipped"]

"""``VendorProvider``: the base of an adapter that serves tasks from a vendor's services.

A subclass declares its ``kind``, its ``config_type`` and ``serves = {Task: function}``:
the one function that serves each task, called as ``function(clients, task, request, ctx)``.
In ``__init__`` it builds its ``clients`` (an ``SdkClients``: what its functions take),
then calls ``declare(capabilities, load_prices)``; it implements ``probe``
(``timed_probe`` times a free call).

The base checks the request against the task table's request type once, answers
Unsupported for any task it does not serve, applies ``classes`` and ``min_confidence`` once, and closes
the clients. It does not name the provider on errors: the dispatcher does, for every kind.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from adapters.base import CallContext, ProviderResult
from adapters.kit.clients import SdkClients
from adapters.kit.config import ProviderConfig
from adapters.kit.results import apply_classes, apply_min_confidence
from omnisense.schema import (
    TABLE,
    Health,
    InvalidInput,
    OmnisenseError,
    Price,
    ProviderInfo,
    Task,
    TaskRequest,
    TaskSupport,
    TranscribeRequest,
    Unsupported,
)

ConfigT = TypeVar("ConfigT", bound=ProviderConfig)
Handler = Callable[[TaskRequest, CallContext], Awaitable[ProviderResult]]
# ``function(clients, task, request, ctx)``; ``request`` is the type the task table names for ``task``.
Serve = Callable[[Any, Task, Any, CallContext], Awaitable[ProviderResult]]


class VendorProvider(Generic[ConfigT]):
    kind: ClassVar[str]
    config_type: ClassVar[type[ProviderConfig]]
    serves: ClassVar[Mapping[Task, Serve]] = {}

    info: ProviderInfo
    clients: SdkClients[Any] | None = None
    handlers: dict[Task, Handler]

    def __init__(self, name: str, config: ConfigT) -> None:
        self.name = name
        self.config = config
        self.handlers = {}

    def declare(self, capabilities: dict[Task, TaskSupport], prices: Callable[[], dict[Task, Price]]) -> None:
        """``info`` from the capabilities and the price loader (a bad price file or override is
        reported with the provider's name), then ``route()``."""
        try:
            loaded = prices()
        except ValueError as exc:
            raise ValueError(f"providers.{self.name}: {exc}") from None
        where = self.config.placement()
        self.info = ProviderInfo(
            name=self.name, kind=self.kind, capabilities=capabilities, prices=loaded,
            region=where.region, jurisdiction=where.jurisdiction,
        )  # fmt: skip
        self.route()

    def route(self, tasks: Iterable[Task] | None = None) -> None:
        """Serve ``tasks`` (default: every task in ``info.capabilities``) by ``serves``."""
        chosen = self.info.capabilities if tasks is None else tasks
        self.handlers = {task: partial(self.serves[task], self.clients, task) for task in chosen}

    async def start(self) -> None:
        """Nothing to do by default: clients are built on first use."""

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        handler = self.handlers.get(task)
        if handler is None:
            raise Unsupported(f"{self.name} does not serve {task}")
        takes = TABLE[task].request
        if not isinstance(request, takes):  # the caller's bug, said clearly
            raise InvalidInput(f"{task} takes a {takes.__name__}, not a {type(request).__name__}")
        if isinstance(request, TranscribeRequest) and request.diarize and not self._diarizes(task):
            # never dropped silently: the dispatcher falls back to a provider that diarizes
            raise Unsupported(f"{self.name} does not tell speakers apart for {task}", field="speakers")
        out = await handler(request, ctx)
        result = out.result
        if getattr(request, "classes", None):  # only image requests have classes; most name none
            result = apply_classes(result, request)
        result = apply_min_confidence(result, request)
        return out if result is out.result else _replace_result(out, result)

    def _diarizes(self, task: Task) -> bool:
        support = self.info.capabilities.get(task)
        return support is not None and support.diarization

    async def probe(self) -> Health:
        raise NotImplementedError

    async def aclose(self) -> None:
        if self.clients is not None:
            await self.clients.aclose()


async def timed_probe(check: Callable[[], Awaitable[str]]) -> Health:
    """A probe's health: ``check()`` (a free call) returns what it found, or raises the mapped error."""
    start = time.perf_counter()
    try:
        detail = await check()
    except OmnisenseError as exc:
        latency = (time.perf_counter() - start) * 1000.0
        return Health(ok=False, latency_ms=latency, detail=f"{type(exc).__name__}: {exc.detail}"[:300])
    return Health(ok=True, latency_ms=(time.perf_counter() - start) * 1000.0, detail=detail)


def _replace_result(out: ProviderResult, result: Any) -> ProviderResult:
    return ProviderResult(result=result, model=out.model, raw=out.raw, cost_usd=out.cost_usd)

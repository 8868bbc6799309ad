"""``VendorProvider``: the base of an adapter that serves tasks from a vendor's services.

A subclass declares its ``kind`` and ``config_type``, builds its ``info`` (capabilities,
prices) and one handler per task it serves in ``__init__``, and implements ``probe``.
The base dispatches ``run`` to the handler, answers Unsupported for any other task,
names the provider on every error, and applies ``min_confidence`` once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

from adapters.base import CallContext, ProviderResult
from adapters.kit.config import ProviderConfig
from adapters.kit.results import apply_min_confidence
from omnisense.schema import Health, InvalidInput, OmnisenseError, ProviderInfo, Task, TaskRequest, Unsupported

ConfigT = TypeVar("ConfigT", bound=ProviderConfig)
R = TypeVar("R")
Handler = Callable[[TaskRequest, CallContext], Awaitable[ProviderResult]]


def expect(request: TaskRequest, kind: type[R], task: Task) -> R:
    """``request`` as the type ``task`` takes (a mismatch is the caller's bug, said clearly)."""
    if not isinstance(request, kind):
        raise InvalidInput(f"{task} takes a {kind.__name__}, not a {type(request).__name__}")
    return request


class VendorProvider(Generic[ConfigT]):
    kind: ClassVar[str]
    config_type: ClassVar[type[ProviderConfig]]

    info: ProviderInfo
    handlers: dict[Task, Handler]

    def __init__(self, name: str, config: ConfigT) -> None:
        self.name = name
        self.config = config
        self.handlers = {}

    async def start(self) -> None:
        """Nothing to do by default: clients are built on first use."""

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        handler = self.handlers.get(task)
        if handler is None:
            raise Unsupported(f"{self.name} does not serve {task}", provider=self.name)
        try:
            out = await handler(request, ctx)
        except OmnisenseError as exc:
            exc.provider = self.name
            raise
        result = apply_min_confidence(out.result, request)
        return out if result is out.result else _replace_result(out, result)

    async def probe(self) -> Health:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def _replace_result(out: ProviderResult, result: Any) -> ProviderResult:
    return ProviderResult(result=result, model=out.model, raw=out.raw, cost_usd=out.cost_usd)

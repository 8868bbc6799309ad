"""The provider protocol (DESIGN §4): what the dispatcher calls, and what it gets back.

A provider kind is a class with a ``config_type`` (its policy block, a
``adapters.kit.ProviderConfig``) built as ``Kind(name, config)`` by the registry; the
gateway then awaits ``start()`` once before routing to it. The helpers every adapter
shares (thread pool, error mapping, prices, result conventions) are in ``adapters.kit``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import msgspec

from omnisense.schema import Health, ProviderInfo, Task, TaskRequest, TaskResult

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

"""The provider protocol (DESIGN §4) and the helpers every adapter shares.

An adapter turns a normalized request into a vendor call and the vendor's answer back
into a normalized result. It raises only errors of ``gateway.schema.errors``; the
helpers here map the usual failure shapes (HTTP status codes, timeouts, connection
errors) so that each adapter maps only what is special about its vendor.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar, runtime_checkable

import msgspec

from gateway.schema import (
    ConventionError,
    Health,
    InvalidInput,
    OmnisenseError,
    ProviderInfo,
    Task,
    TaskRequest,
    TaskResult,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

T = TypeVar("T")
C = TypeVar("C", bound=msgspec.Struct)


class CallContext(msgspec.Struct, kw_only=True):
    """What a provider knows about the request it serves."""

    request_id: str
    deadline: float  # time.monotonic() by which the answer must be back
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

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult: ...

    async def probe(self) -> Health:
        """A cheap health check that costs no money."""
        ...

    async def aclose(self) -> None: ...


ProviderFactory = Callable[[str, Mapping[str, Any]], Provider]


def parse_config(config_type: type[C], name: str, block: Mapping[str, Any]) -> C:
    """Validate a provider's policy block; errors name the provider and the field."""
    fields = {k: v for k, v in block.items() if k != "kind"}
    try:
        return msgspec.convert(fields, config_type, str_keys=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"providers.{name}: {exc}") from None


class BlockingPool:
    """A bounded thread pool for a provider's synchronous SDK calls.

    Sync SDKs (boto3, the Azure and Google REST clients) run here so that nothing
    blocks the event loop, and at most ``max_workers`` calls per provider are in flight.
    """

    def __init__(self, name: str, max_workers: int = 16) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"omni-{name}")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def error_for_status(status: int, detail: str, *, provider: str, retry_after_s: float | None = None) -> OmnisenseError:
    """The gateway error for a vendor's HTTP error status (DESIGN §3)."""
    cls: type[OmnisenseError]
    if status in (401, 403):
        cls = UpstreamAuth
    elif status == 429:
        cls = UpstreamThrottled
    elif status in (408, 504):
        cls = UpstreamTimeout
    elif status >= 500:
        cls = UpstreamUnavailable
    elif status in (400, 413, 415, 422):
        cls = InvalidInput
    else:
        cls = UpstreamBadResponse
    return cls(f"{provider}: HTTP {status}: {detail}"[:500], provider=provider, retry_after_s=retry_after_s)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds (HTTP dates are ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@contextlib.contextmanager
def mapped_errors(provider: str, classify: Callable[[BaseException], OmnisenseError | None]) -> Iterator[None]:
    """Map whatever the vendor code raises to the gateway's error tree.

    ``classify`` handles the vendor's own exceptions and returns ``None`` for what it
    does not know; timeouts, connection failures and results that break the schema's
    conventions are handled here for every adapter.
    """
    try:
        yield
    except OmnisenseError as exc:
        exc.provider = exc.provider or provider
        raise
    except TimeoutError as exc:
        raise UpstreamTimeout(f"{provider}: timed out", provider=provider) from exc
    except (ConventionError, msgspec.ValidationError) as exc:
        raise UpstreamBadResponse(f"{provider}: answer breaks the schema: {exc}", provider=provider) from exc
    except Exception as exc:
        mapped = classify(exc)
        if mapped is None:
            if isinstance(exc, ConnectionError | OSError):
                mapped = UpstreamUnavailable(f"{provider}: {exc}", provider=provider)
            else:
                raise
        mapped.provider = provider
        raise mapped from exc

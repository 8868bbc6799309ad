"""Mapping what vendor code raises to the gateway's error tree (DESIGN §3).

Each adapter writes one ``classify(exc) -> OmnisenseError | None`` for its SDK's own
exceptions; ``mapped_errors`` handles the rest for every adapter: timeouts, connection
failures, and results that break the schema's conventions.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Literal, TypeVar

import msgspec

from omnisense.schema import (
    ConventionError,
    InvalidInput,
    OmnisenseError,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

T = TypeVar("T")


def error_for_status(status: int, detail: str, *, provider: str, retry_after_s: float | None = None) -> OmnisenseError:
    """The gateway error for a vendor's HTTP error status (``provider`` starts the detail)."""
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
    return cls(f"{provider}: HTTP {status}: {detail}"[:500], retry_after_s=retry_after_s)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds (HTTP dates are ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class mapped_errors:  # a class used like a function: ``with mapped_errors(name, classify):``
    """Map whatever the vendor code raises; ``classify`` returns None for what it does not know.

    ``provider`` starts the detail of the errors mapped here; the error's ``provider`` field
    is the dispatcher's to set (it knows which step failed).

    A class rather than a ``@contextmanager`` generator: it wraps every vendor call, and
    a generator-based context manager costs a generator and two extra frames per call."""

    __slots__ = ("classify", "provider")

    def __init__(self, provider: str, classify: Callable[[BaseException], OmnisenseError | None]) -> None:
        self.provider = provider
        self.classify = classify

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if exc is None or not isinstance(exc, Exception):
            return False  # no error, or a cancellation / exit: not ours to map
        if isinstance(exc, OmnisenseError):
            return False
        provider = self.provider
        mapped: OmnisenseError | None
        if isinstance(exc, TimeoutError):
            mapped = UpstreamTimeout(f"{provider}: timed out")
        elif isinstance(exc, ConventionError | msgspec.ValidationError):
            mapped = UpstreamBadResponse(f"{provider}: answer breaks the schema: {exc}")
        else:
            mapped = self.classify(exc)
            if mapped is None:
                if not isinstance(exc, ConnectionError | OSError):
                    return False
                mapped = UpstreamUnavailable(f"{provider}: {exc}")
        raise mapped from exc


def parsed(provider: str, build: Callable[[], T]) -> T:
    """Run a ``from_vendor`` step: an answer that lacks the documented shape is a bad response."""
    try:
        return build()
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        raise UpstreamBadResponse(
            f"{provider}: answer lacks the documented shape ({type(exc).__name__}: {exc})"
        ) from exc

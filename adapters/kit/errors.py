"""Mapping what vendor code raises to the gateway's error tree (DESIGN §3).

Each adapter writes one ``classify(exc) -> OmnisenseError | None`` for its SDK's own
exceptions; ``mapped_errors`` handles the rest for every adapter: timeouts, connection
failures, and results that break the schema's conventions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import msgspec

from gateway.schema import (
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
    """The gateway error for a vendor's HTTP error status."""
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
    """Map whatever the vendor code raises; ``classify`` returns None for what it does not know."""
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


def parsed(provider: str, build: Callable[[], T]) -> T:
    """Run a ``from_vendor`` step: an answer that lacks the documented shape is a bad response."""
    try:
        return build()
    except OmnisenseError as exc:
        exc.provider = provider
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        raise UpstreamBadResponse(
            f"{provider}: answer lacks the documented shape ({type(exc).__name__}: {exc})", provider=provider
        ) from exc

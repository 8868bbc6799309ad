"""Mapping what vendor code raises to the gateway's error tree (DESIGN §3).

Each adapter writes one ``classify(exc) -> OmnisenseError | None`` for its SDK's own
exceptions; ``mapped_errors`` handles the rest for every adapter: timeouts, connection
failures, and results that break the schema's conventions.

The pieces a ``classify`` is built from, the same for every vendor:

- ``error_for_status``: HTTP status -> error class; ``coded_error``: a vendor's code table
  first, the status where the table does not name the code;
- ``retry_after``: Retry-After (or a milliseconds header) from any header mapping;
- ``error_body``: (code, message) from a JSON error body of the common
  ``{"error": {"code", "message", "innererror"}}`` shape and its flat variants;
- ``by_class``: an SDK exception -> error by a table of (exception types, error class, what).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar

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


def coded_error(
    provider: str,
    table: Mapping[str, type[OmnisenseError]],
    code: str,
    text: str,
    status: int,
    retry_after_s: float | None = None,
) -> OmnisenseError:
    """The error for a vendor's error ``code``: the class ``table`` names, else by the HTTP ``status``.

    ``text`` is the detail after the provider's name (the code and the message, as the vendor
    writes them); a status of 0 (none known) counts as 500."""
    cls = table.get(code)
    if cls is not None:
        return cls(f"{provider}: {text}"[:500], retry_after_s=retry_after_s)
    return error_for_status(status or 500, text, provider=provider, retry_after_s=retry_after_s)


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """The value of header ``name`` (lower case) in ``headers``, whatever its case there; None if absent."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def retry_after(headers: Mapping[str, Any] | None, millis: str | None = None) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds), else the ``millis`` header (milliseconds) if named."""
    seconds = parse_retry_after(header(headers, "retry-after"))
    if seconds is None and millis:
        found = parse_retry_after(header(headers, millis))
        seconds = found / 1000.0 if found is not None else None
    return seconds


def error_body(body: Any) -> tuple[str, str]:
    """(code, message) from a JSON error body (bytes, text or parsed); ("", "") when it has none.

    Accepted: ``{"error": {"code": ..., "message": ..., "innererror": {"code": ...}}}`` (the
    innermost code is the precise one; ``innerError`` too), a flat ``{"code", "message"}``,
    ``{"statusCode": 429, "message": ...}``; a body that is not JSON is its own message."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            return "", text[:300]
    if not isinstance(body, Mapping):
        return "", str(body)[:300]
    error = body.get("error")
    node: Mapping[str, Any] = error if isinstance(error, Mapping) else body
    code = str(node.get("code") or node.get("statusCode") or "")
    message = str(node.get("message") or "")
    inner = node.get("innererror") or node.get("innerError")
    while isinstance(inner, Mapping) and inner.get("code"):
        code, message = str(inner["code"]), str(inner.get("message") or message)
        inner = inner.get("innererror") or inner.get("innerError")
    return code, message


# (exception types, the error class, what happened: None names the exception's class)
Rule = tuple[type[BaseException] | tuple[type[BaseException], ...], type[OmnisenseError], str | None]


def by_class(exc: BaseException, provider: str, rules: Sequence[Rule]) -> OmnisenseError | None:
    """The error of the first rule whose types ``exc`` is an instance of, as
    ``"{provider}: {what}: {exc}"`` (at most 500 characters); None when no rule matches."""
    for types, cls, what in rules:
        if isinstance(exc, types):
            return cls(f"{provider}: {what or type(exc).__name__}: {exc}"[:500])
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

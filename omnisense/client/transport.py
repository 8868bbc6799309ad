"""Decoding answers, turning problem+json into typed exceptions, and the retry rule.

One retry layer per hop: the gateway already retries and falls back between vendors
(``gateway.dispatch``), so the client sends a request again only when doing so cannot
multiply the vendor calls behind it:

- the request never reached the gateway (``httpx.ConnectError``, ``httpx.ConnectTimeout``);
- the gateway answered 503 or 429 **with** ``Retry-After`` of at most 30 s (it is shutting
  down, a circuit is cooling, the caller's rate limit refills): the client waits that long.
  A 429 ``BudgetExceeded`` is never sent again (a budget does not refill in seconds).

Everything else (a 502/504 after the gateway's own retries, a 503 or 429 without
``Retry-After``, bad input) is raised at once. ``retries`` (2) caps the repeats. The rule
lives here once; each client's ``send`` is only the loop (sync or async) around it, so the
client needs nothing beyond httpx and msgspec.
"""

from __future__ import annotations

import contextlib
import os
import random
from typing import Any, TypeVar

import httpx
import msgspec

from omnisense.schema import OmnisenseError, Problem
from omnisense.schema.errors import (
    ERRORS_BY_SLUG,
    BudgetExceeded,
    InternalError,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

T = TypeVar("T")
# An answer without a problem body (a proxy in front of the gateway): its class by status.
BARE_STATUS = {429: RateLimited, 502: UpstreamUnavailable, 503: UpstreamUnavailable, 504: UpstreamTimeout}
MAX_WAIT_S = 30.0
DEFAULT_URL = "http://127.0.0.1:8080"


def settings(base_url: str | None, api_key: str | None) -> tuple[str, dict[str, str]]:
    url = base_url or os.environ.get("OMNISENSE_URL") or DEFAULT_URL
    key = api_key or os.environ.get("OMNISENSE_API_KEY")
    headers = {"User-Agent": "omnisense-python"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return url.rstrip("/"), headers


def error_from(response: httpx.Response) -> OmnisenseError:
    """The gateway's own error class for a problem+json answer, carrying its details."""
    problem: Problem | None = None
    with contextlib.suppress(msgspec.MsgspecError):
        problem = msgspec.json.decode(response.content, type=Problem)
    if problem is not None:
        err = problem_error(problem)
    else:
        cls = BARE_STATUS.get(response.status_code, InternalError)
        err = cls(f"HTTP {response.status_code}: {response.text[:200]}")
        err.request_id = response.headers.get("x-request-id")
    hinted = response.headers.get("retry-after", "")
    err.retry_after_s = float(hinted) if hinted.isascii() and hinted.isdigit() else None
    return err


def problem_error(problem: Problem) -> OmnisenseError:
    """The gateway's own error class for a problem (an answer's, or a failed job's)."""
    cls = ERRORS_BY_SLUG.get(problem.type.rsplit("/", 1)[-1], InternalError)
    err = cls(problem.detail, field=problem.field)
    err.request_id = problem.request_id
    err.attempts = list(problem.attempts)
    return err


def decode(response: httpx.Response, result_type: type[T]) -> T:
    if response.status_code >= 400:
        raise error_from(response)
    if result_type is bytes:
        return response.content  # type: ignore[return-value]
    return msgspec.json.decode(response.content, type=result_type)


NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)  # the request did not reach the gateway


def retry_wait(exc: BaseException, attempt: int, retries: int) -> float | None:
    """Seconds to wait before sending again after ``exc`` on try ``attempt`` (0-based), or None to stop."""
    if attempt >= retries:
        return None
    if isinstance(exc, NEVER_SENT):
        backoff: float = min(0.2 * 2**attempt, 5.0)
        return backoff * (0.5 + random.random() / 2)
    if not isinstance(exc, OmnisenseError) or isinstance(exc, BudgetExceeded) or exc.status not in (429, 503):
        return None
    if exc.retry_after_s is None or exc.retry_after_s > MAX_WAIT_S:
        return None
    return exc.retry_after_s


def request_kwargs(call: Any) -> dict[str, Any]:
    return {"content": call.content, "json": call.json, "params": call.params or None, "headers": call.headers}

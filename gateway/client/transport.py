"""Decoding answers, turning problem+json into typed exceptions, and the retry rule."""

from __future__ import annotations

import contextlib
import os
import random
from typing import Any, TypeVar

import httpx
import msgspec

from gateway.schema import OmnisenseError, Problem
from gateway.schema.errors import ERRORS_BY_SLUG, InternalError

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 503})
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
    slug = problem.type.rsplit("/", 1)[-1] if problem else ""
    cls = ERRORS_BY_SLUG.get(slug, InternalError)
    detail = problem.detail if problem else f"HTTP {response.status_code}: {response.text[:200]}"
    err = cls(detail, field=problem.field if problem else None)
    err.request_id = problem.request_id if problem else response.headers.get("x-request-id")
    err.attempts = list(problem.attempts) if problem else []
    return err


def decode(response: httpx.Response, result_type: type[T]) -> T:
    if response.status_code >= 400:
        raise error_from(response)
    if result_type is bytes:
        return response.content  # type: ignore[return-value]
    return msgspec.json.decode(response.content, type=result_type)


def should_retry(response: httpx.Response, attempt: int, retries: int) -> float | None:
    """Seconds to wait before trying again, or None to stop."""
    if response.status_code not in RETRY_STATUSES or attempt >= retries:
        return None
    hinted = response.headers.get("retry-after")
    if hinted and hinted.isdigit():
        return min(float(hinted), 30.0)
    backoff: float = min(0.2 * 2**attempt, 5.0)
    return backoff * (0.5 + random.random() / 2)


def request_kwargs(call: Any) -> dict[str, Any]:
    return {"content": call.content, "json": call.json, "params": call.params or None, "headers": call.headers}

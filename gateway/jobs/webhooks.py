"""Deliver a finished job to its ``webhook_url``: signed, retried with backoff, logged.

The body is the job as ``GET /v1/jobs/{id}`` shows it. The URL is checked first
(``webhook_guard.py``: public addresses only unless the operator allows private ones; no
redirects followed); a refused URL is logged and not retried. Each try is signed afresh
(``omnisense.schema.webhooks``) and POSTed with aiohttp; a connection error, a timeout, a 408,
429 or 5xx is tried again (tenacity: exponential backoff with jitter) up to
``webhook_attempts`` times; any other answer ends the delivery. The delivery, all its tries
included, is one record in the request log (task ``jobs.webhook``, one attempt per try).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
import msgspec
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from gateway.jobs.model import Job, view
from gateway.jobs.settings import JobSettings
from gateway.jobs.webhook_guard import PinnedResolver, WebhookRefused, check_url, checked_addresses
from gateway.logs.record import RequestLog
from omnisense.schema import Attempt
from omnisense.schema.webhooks import JOB_HEADER, signed_headers

log = logging.getLogger("omnisense.jobs")
TASK = "jobs.webhook"
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class _TryAgain(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class WebhookSender:
    def __init__(self, settings: JobSettings, submit: Callable[[RequestLog], None]) -> None:
        self.settings = settings
        self.submit = submit

    async def deliver(self, job: Job, secret: str | None) -> bool:
        """POST ``job`` to its webhook; True once the receiver answered 2xx."""
        assert job.webhook_url is not None
        body = msgspec.json.encode(view(job))
        attempts: list[Attempt] = []
        started, wall = time.perf_counter(), time.time()
        status, error = 0, None
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.webhook_attempts),
            wait=wait_exponential_jitter(
                multiplier=self.settings.webhook_backoff_s, max=60.0, jitter=self.settings.webhook_backoff_s
            ),
            retry=retry_if_exception_type(_TryAgain),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    status = await self._try(job, body, secret, attempts)
        except _TryAgain as exc:
            status, error = exc.status, str(exc)
        except WebhookRefused as exc:  # the URL may not be called: never retried
            status, error = 403, str(exc)
        ok = 200 <= status < 300
        if not ok and error is None:
            error = f"the receiver answered {status}"
        self.submit(
            RequestLog(
                request_id=f"{job.id}.webhook", time=wall, task=TASK, status="ok" if ok else "error",
                http_status=status or 502, latency_ms=round((time.perf_counter() - started) * 1000, 3),
                key_id=job.key_id, error_type=None if ok else "WebhookFailed", error_detail=error, attempts=attempts,
            )
        )  # fmt: skip
        return ok

    async def _try(self, job: Job, body: bytes, secret: str | None, attempts: list[Attempt]) -> int:
        assert job.webhook_url is not None
        headers = {"Content-Type": "application/json", JOB_HEADER: job.id}
        if secret:
            headers.update(signed_headers(secret, body))
        start = time.perf_counter()
        host, port = check_url(job.webhook_url, self.settings.webhook_hosts)
        addresses = await checked_addresses(host, port, self.settings.webhook_private)
        connector = aiohttp.TCPConnector(resolver=PinnedResolver(host, addresses), force_close=True)
        timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s)
        try:
            async with (
                aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
                http.post(job.webhook_url, data=body, headers=headers, allow_redirects=False) as response,
            ):
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = f"{type(exc).__name__}: {exc}"[:300]
            attempts.append(_attempt(start, "timeout" if isinstance(exc, TimeoutError) else "error", detail))
            raise _TryAgain(0, detail) from exc
        ok = 200 <= status < 300
        attempts.append(_attempt(start, "ok" if ok else "error", None if ok else f"HTTP {status}"))
        if status in _RETRY_STATUSES:
            raise _TryAgain(status, f"the receiver answered {status}")
        return status

    async def aclose(self) -> None:
        await asyncio.sleep(0)  # one session per try: nothing is kept open


def _attempt(start: float, outcome: str, detail: str | None) -> Attempt:
    latency = round((time.perf_counter() - start) * 1000, 3)
    return Attempt(provider="webhook", outcome=outcome, latency_ms=latency, detail=detail)  # type: ignore[arg-type]

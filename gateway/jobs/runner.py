"""The job worker inside each gateway process: claim, run through the dispatcher, finish.

- **Claim.** A loop takes queued jobs from the store (or running ones whose gateway stopped
  renewing their lease) while fewer than ``workers`` run here; a submit wakes it at once.
- **Run.** Each input is one dispatch through the same policy (fallback, retries, circuits)
  with the job's time limits instead of the route's, and leaves one request-log record
  (request id ``<job id>.<item>``). Items already done are kept in the store after each one,
  so a restarted job resumes at the first item without a result.
- **Cap.** A job taken over after its gateway died mid-run (``Job.lost``) ``max_attempts``
  times ends ``failed`` with the reason: an input that crashes its worker does not crash
  every gateway in turn, nor is its vendor call paid forever.
- **Rate.** Each item takes its own token from the submitting key's rate limits, waiting
  for it (``take_token``): a batch of 20 against 6 a minute runs 6 at once, then one every
  10 s. Each item is a dispatch, so it reserves its own budget (``policies.budgets``).
- **Lease.** While a job runs its lease is renewed; a renewal that finds the job cancelled
  (``DELETE``) or taken by another gateway stops the work here.
- **Finish.** Only the gateway holding the job can finish it (exactly one result); then the
  webhook, if any, is sent.
- **Store down.** An item's result and a job's end are written again (0.2 s backing off to
  5 s) until the store answers, so the item is not paid for twice and the job does not stay
  ``running``; the work stops only if the job is cancelled here. A store down for longer than
  the lease offers this gateway its own running job back: it is not started a second time.
- **Stop.** On shutdown (SIGTERM) running jobs are cancelled and handed back to the queue at
  once, so the next gateway to start takes them without waiting for the lease to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from gateway.dispatch import Dispatcher
from gateway.jobs.model import ItemResult, Job, JobStatus, finished, progressed, released, renewed, webhook_done
from gateway.jobs.settings import JobSettings
from gateway.jobs.store import JobStore
from gateway.jobs.webhooks import WebhookSender
from gateway.logs.record import RequestLog, summarize_input
from gateway.trace import RequestTrace
from omnisense.schema import OmnisenseError, Problem, Task, TaskRequest, spec_of

log = logging.getLogger("omnisense.jobs")
T = TypeVar("T")
STORE_BACKOFF_S = (0.2, 5.0)  # first and longest wait between writes to a store that does not answer


def encode_inputs(requests: list[TaskRequest]) -> bytes:
    return msgspec.msgpack.encode(requests)


def decode_inputs(task: Task, blob: bytes) -> list[TaskRequest]:
    request: Any = spec_of(task).request
    requests: list[TaskRequest] = msgspec.msgpack.decode(blob, type=list[request])
    return requests


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        settings: JobSettings,
        dispatcher_for: Callable[[str | None], Dispatcher],
        submit: Callable[[RequestLog], None],
        secret_for: Callable[[str | None], str | None],
        take_token: Callable[[str | None], Awaitable[float]] | None = None,
    ) -> None:
        self.store, self.settings = store, settings
        self.take_token = take_token  # seconds to wait for the key's next token (0: taken), or None: no limits
        self.dispatcher_for, self.submit, self.secret_for = dispatcher_for, submit, secret_for
        self.owner = uuid.uuid4().hex
        self.webhooks = WebhookSender(settings, submit)
        self.running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._sending: set[str] = set()  # jobs whose webhook this process is sending

    def start(self) -> None:
        self._loop = asyncio.create_task(self._claim_loop(), name="omnisense-jobs")

    def notify(self) -> None:
        """A job was submitted: look for work now."""
        self._wake.set()

    def cancel_here(self, job_id: str) -> None:
        task = self.running.get(job_id)
        if task is not None:
            task.cancel()

    async def _claim_loop(self) -> None:
        next_purge = 0.0
        while True:
            try:
                while len(self.running) < self.settings.workers:
                    job = await self.store.claim(self.owner, self.settings.lease_s)
                    if job is None:
                        break
                    if job.id in self.running:  # ours: its lease ran out while the store was down
                        continue
                    self.running[job.id] = asyncio.create_task(self._run(job), name=f"job-{job.id}")
                if time.time() >= next_purge:
                    await self._sweep()
                    next_purge = time.time() + self.settings.sweep_s
            except Exception:
                log.exception("jobs: the store failed; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_s):
                    await self._wake.wait()
            self._wake.clear()

    async def _sweep(self) -> None:
        """Delete expired jobs; send the webhooks a stopped gateway left pending."""
        await self.store.purge(time.time())
        before = time.time() - self.settings.webhook_resume_after_s
        for job in await self.store.pending_webhooks(before, 100):
            if job.id not in self._sending:
                self._spawn(self._webhook(job))

    async def _run(self, job: Job) -> None:
        lease = asyncio.create_task(self._keep_lease(job.id, asyncio.current_task()))
        try:
            status: JobStatus
            error: str | None
            if job.lost >= self.settings.max_attempts:
                status, results, error = "failed", job.results, self._gave_up(job)
            else:
                status, results, error = await self._execute(job)
            end = finished(self.owner, status, results, self.settings.keep_s, error)
            done = await self._until_stored(functools.partial(self.store.update, job.id, end))
            if done is not None and done.webhook_url:
                self._spawn(self._webhook(done))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job %s failed in the gateway", job.id)
            end = finished(self.owner, "failed", job.results, self.settings.keep_s, repr(exc))
            await self._until_stored(functools.partial(self.store.update, job.id, end))
        finally:
            lease.cancel()
            self.running.pop(job.id, None)
            self._wake.set()

    def _gave_up(self, job: Job) -> str:
        return (
            f"gave up after {job.attempts - 1} attempts: its gateway stopped mid-run {job.lost} times"
            f" (jobs.max_attempts: {self.settings.max_attempts}), the last time at item {len(job.results)}"
        )

    async def _wait_for_token(self, key_id: str | None) -> None:
        """The key's rate limit: an item waits for its own token."""
        while self.take_token is not None:
            wait = await self.take_token(key_id)
            if wait <= 0:
                return
            await asyncio.sleep(wait)  # the token is due then

    async def _until_stored(self, write: Callable[[], Awaitable[T]]) -> T:
        """A write that must not be lost (an item's result, a job's end): again until the store answers."""
        delay = STORE_BACKOFF_S[0]
        while True:
            try:
                return await write()
            except Exception as exc:
                log.warning("jobs: the store failed (%s); writing again in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORE_BACKOFF_S[1])

    async def _keep_lease(self, job_id: str, work: asyncio.Task[Any] | None) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_s / 3)
            try:
                job = await self.store.update(job_id, renewed(self.owner, self.settings.lease_s))
            except Exception:
                log.exception("jobs: cannot renew the lease of %s", job_id)
                continue
            if job is None and work is not None:  # cancelled, or another gateway holds it now
                work.cancel()
                return

    async def _execute(self, job: Job) -> tuple[Any, list[ItemResult], str | None]:
        task = Task(job.task)
        requests = decode_inputs(task, await self.store.inputs(job.id))
        results = [r for r in job.results if r.index < len(requests)]
        done = {r.index for r in results}
        for index, request in enumerate(requests):
            if index in done:
                continue
            results.append(await self._item(job, task, index, request))
            change = progressed(self.owner, results)
            await self._until_stored(functools.partial(self.store.update, job.id, change))
        results.sort(key=lambda r: r.index)
        if job.batch:
            ok = any(r.status == "succeeded" for r in results)
            return ("succeeded" if ok else "failed"), results, None if ok else "every item failed"
        return results[0].status, results, None

    async def _item(self, job: Job, task: Task, index: int, request: TaskRequest) -> ItemResult:
        trace = RequestTrace(request_id=f"{job.id}.{index}", task=task.value, key_id=job.key_id)
        trace.record.input = summarize_input(request)
        status = 499
        error_type: str | None = "JobStopped"
        detail: str | None = "the job was cancelled or its gateway stopped"
        dispatcher = self.dispatcher_for(job.policy)
        limits = (self.settings.attempt_timeout_s, self.settings.time_limit_s)
        try:
            await self._wait_for_token(job.key_id)
            allowed = frozenset(job.allowed) if job.allowed is not None else None
            envelope = await dispatcher.run(task, request, trace, pinned=job.pinned, allowed=allowed, time_limit=limits)
            status, error_type, detail = 200, None, None
            return ItemResult(index=index, status="succeeded", result=msgspec.to_builtins(envelope))
        except OmnisenseError as exc:
            status, error_type, detail = exc.status, type(exc).__name__, exc.detail
            problem = Problem(
                type=exc.type_uri, title=exc.title, status=exc.status, detail=exc.detail,
                request_id=trace.record.request_id, field=exc.field, attempts=list(trace.record.attempts),
            )  # fmt: skip
            return ItemResult(index=index, status="failed", error=msgspec.to_builtins(problem))
        finally:
            self.submit(trace.to_record(http_status=status, error_type=error_type, detail=detail))

    async def _webhook(self, job: Job) -> None:
        self._sending.add(job.id)
        try:
            delivered = await self.webhooks.deliver(job, self.secret_for(job.key_id))
            await self.store.update(job.id, webhook_done("delivered" if delivered else "failed"))
        finally:
            self._sending.discard(job.id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        """Stop claiming, hand running jobs back to the queue, finish webhooks under way."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        running = dict(self.running)
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        for job_id in running:
            with contextlib.suppress(Exception):
                await self.store.update(job_id, released(self.owner))
        if self._background:
            await asyncio.wait(self._background, timeout=self.settings.webhook_timeout_s)
        await self.webhooks.aclose()

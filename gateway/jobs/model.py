"""A job as stored and as answered, and the state changes the stores apply atomically.

A job is one task and one or more inputs (a batch). Its status goes queued -> running ->
succeeded | failed | cancelled; ``attempts`` counts the times a gateway started it (a
restart mid-run starts it again, keeping the items already done); ``lost`` counts the starts
whose gateway died mid-run (its lease ran out: a clean shutdown hands the job back and is not
counted), which ``jobs.max_attempts`` caps. Each item's result is
its envelope, or the problem that ended it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from omnisense.schema.jobs import FINAL_STATUSES, ItemResult, ItemStatus, JobStatus, JobView, WebhookState

__all__ = ["FINAL_STATUSES", "ItemResult", "ItemStatus", "Job", "JobStatus", "JobView", "Transition", "view"]

ACTIVE: frozenset[str] = frozenset({"queued", "running"})


class Job(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    task: str
    status: JobStatus
    created: float
    updated: float
    items: int = 1
    batch: bool = False
    key_id: str | None = None
    policy: str | None = None
    pinned: str | None = None
    allowed: list[str] | None = None  # the providers the submitting key may use (None: any)
    webhook_url: str | None = None
    webhook: WebhookState | None = None
    attempts: int = 0
    request_hash: str | None = None  # with an Idempotency-Key: the SHA-256 of the task and inputs
    lost: int = 0  # starts whose gateway stopped renewing the lease mid-run (died, was killed)
    results: list[ItemResult] = msgspec.field(default_factory=list)
    error: str | None = None
    finished: float | None = None
    expires: float | None = None
    owner: str | None = None  # the gateway process running it
    lease_until: float | None = None


def view(job: Job) -> JobView:
    single = job.results[0] if job.results and not job.batch else None
    error: Any = job.error
    if single is not None and single.status == "failed":
        error = single.error
    return JobView(
        id=job.id, task=job.task, status=job.status, created=job.created, updated=job.updated,
        attempts=job.attempts, items=job.items, done=len(job.results), batch=job.batch,
        result=single.result if single is not None and single.status == "succeeded" else None,
        results=list(job.results) if job.batch else None, error=error, finished=job.finished, webhook=job.webhook,
    )  # fmt: skip


# --- transitions: pure functions a store applies inside one transaction -------------------


Transition = Callable[["Job"], "Job | None"]  # None: leave the job as it is


def claimed(job: Job, owner: str, lease_s: float, now: float | None = None) -> Job:
    now = now or time.time()
    # Its own job back: the lease ran out while the store was down, and the job still runs at its
    # owner, which does not start it again. Neither a new attempt nor a lost one.
    again = job.status == "running" and job.owner == owner
    lost = job.lost + (1 if job.status == "running" and not again else 0)  # taken over: lease ran out mid-run
    return msgspec.structs.replace(
        job, status="running", owner=owner, lease_until=now + lease_s, attempts=job.attempts + (0 if again else 1),
        updated=now, lost=lost,
    )  # fmt: skip


def renewed(owner: str, lease_s: float) -> Transition:
    def apply(job: Job) -> Job | None:
        if job.status != "running" or job.owner != owner:
            return None  # cancelled, or taken over by another gateway
        return msgspec.structs.replace(job, lease_until=time.time() + lease_s)

    return apply


def progressed(owner: str, results: list[ItemResult]) -> Transition:
    def apply(job: Job) -> Job | None:
        if job.status != "running" or job.owner != owner:
            return None
        return msgspec.structs.replace(job, results=list(results), updated=time.time())

    return apply


def finished(owner: str, status: JobStatus, results: list[ItemResult], keep_s: float, error: str | None) -> Transition:
    def apply(job: Job) -> Job | None:
        if job.status != "running" or job.owner != owner:
            return None  # exactly one result: only the gateway holding the job may finish it
        now = time.time()
        webhook: WebhookState | None = "pending" if job.webhook_url else None
        return msgspec.structs.replace(
            job, status=status, results=list(results), error=error, updated=now, finished=now,
            expires=now + keep_s, owner=None, lease_until=None, webhook=webhook,
        )  # fmt: skip

    return apply


def released(owner: str) -> Transition:
    """A gateway shutting down hands its running job back to the queue (kept items stay)."""

    def apply(job: Job) -> Job | None:
        if job.status != "running" or job.owner != owner:
            return None
        return msgspec.structs.replace(job, status="queued", owner=None, lease_until=None, updated=time.time())

    return apply


def cancelled(keep_s: float) -> Transition:
    def apply(job: Job) -> Job | None:
        if job.status not in ACTIVE:
            return None
        now = time.time()
        return msgspec.structs.replace(
            job, status="cancelled", updated=now, finished=now, expires=now + keep_s, owner=None, lease_until=None
        )

    return apply


def webhook_done(state: WebhookState) -> Transition:
    def apply(job: Job) -> Job | None:
        return msgspec.structs.replace(job, webhook=state, updated=time.time())

    return apply

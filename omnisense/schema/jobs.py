"""Async jobs as the API shows them (``/v1/jobs``): shared by the server and the client."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from omnisense.schema.envelope import Envelope
from omnisense.schema.results import TaskResult
from omnisense.schema.table import RESULT_TYPES
from omnisense.schema.tasks import Task

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ItemStatus = Literal["succeeded", "failed"]
WebhookState = Literal["pending", "delivered", "failed"]
FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


class ItemResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One input of a job: its envelope, or the problem+json document that ended it."""

    index: int
    status: ItemStatus
    result: Any = None
    error: Any = None


class JobView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``GET /v1/jobs/{id}``. ``result`` holds the envelope of a one-input job once it
    succeeded; a batch has ``results``, one per input in order; ``error`` is the problem."""

    id: str
    task: str
    status: JobStatus
    created: float
    updated: float
    attempts: int
    items: int
    done: int
    batch: bool = False
    result: Any = None
    results: list[ItemResult] | None = None
    error: Any = None
    finished: float | None = None
    webhook: WebhookState | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def envelope(self, index: int | None = None) -> Envelope[TaskResult] | None:
        """The typed envelope of the job (or of batch item ``index``), None while there is none."""
        raw = self.result if index is None else next((r.result for r in self.results or () if r.index == index), None)
        if raw is None:
            return None
        result_type: Any = RESULT_TYPES[Task(self.task)]
        envelope: Envelope[TaskResult] = msgspec.convert(raw, Envelope[result_type])
        return envelope

"""A job as a row: the columns both stores (SQLite, PostgreSQL) filter on, and the job as JSON."""

from __future__ import annotations

import msgspec

from gateway.jobs.model import Job

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Job).decode


def columns(job: Job) -> tuple[str, str | None, str, float, float, float | None, float | None, str]:
    """(id, key_id, status, created, updated, lease_until, expires, job as JSON)."""
    return (
        job.id,
        job.key_id,
        job.status,
        job.created,
        job.updated,
        job.lease_until,
        job.expires,
        _encode(job).decode(),
    )


def decode(text: str | bytes) -> Job:
    return _decode(text)

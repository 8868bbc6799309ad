"""The OpenAPI description of the jobs API (``/v1/jobs``), joined to the served document."""

from __future__ import annotations

from typing import Any

from gateway.server.openapi_ops import problems, ref
from omnisense.schema import Task
from omnisense.schema.jobs import JobView

TYPES = [JobView]
_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"]
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_SUBMIT = {
    "type": "object",
    "properties": {
        "task": {"type": "string", "enum": [t.value for t in Task]},
        "input": {"type": "object", "description": "one input: the task's own JSON body"},
        "inputs": {
            "type": "array", "minItems": 1, "items": {"type": "object"},
            "description": "a batch: one JSON body per input, one result each",
        },
        "webhook_url": {"type": "string", "description": "POSTed the finished job, HMAC-signed"},
    },
    "required": ["task"],
    "additionalProperties": False,
}  # fmt: skip


# a named schema, so that a generated client's model keeps its name (SubmitJobBody) beside the raw bodies
COMPONENTS = {"SubmitJobBody": _SUBMIT}
_RAW = "With a raw body (no JSON): "
_SUBMIT_CONTENT = {
    "application/json": {"schema": ref("SubmitJobBody")},
    "application/octet-stream": {
        "schema": {
            "type": "string",
            "format": "binary",
            "description": "one image or audio upload: ?task= names the task",
        }
    },
    "text/plain": {
        "schema": {"type": "string", "format": "binary", "description": "one text (UTF-8): ?task= names the task"}
    },
}
_UPLOAD_QUERY = [
    {
        "name": "task",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": [t.value for t in Task]},
        "description": _RAW + "the task (required there; with JSON, the body names it). The task's options go in the"
        " query string too, as on its own endpoint",
    },
    {
        "name": "webhook_url",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": _RAW + "POSTed the finished job, HMAC-signed",
    },
]


def _job(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("JobView")}}}


def _op(op_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operationId": op_id, "summary": summary, "tags": ["jobs"], "responses": responses, **extra}


_QUEUED = {
    **_job("Queued; Location names the job"),
    "headers": {"Location": {"description": "the job: /v1/jobs/{id}", "schema": {"type": "string"}}},
}


def job_paths() -> dict[str, dict[str, Any]]:
    listed = {"type": "object", "properties": {"jobs": {"type": "array", "items": ref("JobView")}}}
    return {
        "/v1/jobs": {
            "post": _op(
                "submit_job",
                "Submit an async job: one input or a batch (uploads: the raw body with ?task=)",
                {"202": _QUEUED, **problems("400", "401", "403", "413", "415", "422", "429")},
                requestBody={"required": True, "content": _SUBMIT_CONTENT},
                parameters=_UPLOAD_QUERY,
            ),
            "get": _op(
                "list_jobs",
                "The caller's own jobs, newest first",
                {
                    "200": {"description": "Jobs", "content": {"application/json": {"schema": listed}}},
                    **problems("400", "401"),
                },
                parameters=[
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": _STATUSES},
                    },
                    {"name": "since", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                ],
            ),
        },
        "/v1/jobs/{job_id}": {
            "get": _op(
                "get_job",
                "A job: status, attempts, results",
                {"200": _job("The job"), **problems("401", "404")},
                parameters=[_JOB_ID],
            ),
            "delete": _op(
                "cancel_job",
                "Cancel a queued or running job",
                {"200": _job("Cancelled"), **problems("401", "404", "422")},
                parameters=[_JOB_ID],
            ),
        },
    }

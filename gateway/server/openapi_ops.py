"""The OpenAPI description of the operational endpoints: health, providers, logs, stats,
the quality table, metrics, route explain and the policy, each with its parameters, body, answers and the
exact statuses it can give (schemathesis checks every answer against this).
"""

from __future__ import annotations

import copy
from typing import Any

from gateway.logs.query import LogPage, Stats
from gateway.server.quality_routes import QualityAnswer, QualityReport
from gateway.server.routing_routes import ExplainBody

PROBLEMS = {
    "400": "Bad input: corrupt image or audio, invalid JSON or base64, a malformed filter",
    "401": "Missing or invalid API key (the answer's WWW-Authenticate says how to send one)",
    "403": "The key may not do this: its tasks, providers, policies or admin scope",
    "404": "Not found: the request log is not queryable with this sink",
    "413": "Payload over the configured size or length limit, or over every capable provider's limit",
    "415": "Not a supported image/audio format (sniffed from the bytes), or a body type the endpoint does not take",
    "422": "A field is invalid: empty text, unknown language code, an option out of range, an unknown field or hint",
    "429": "Budget exceeded or rate limited",
    "502": "Every capable provider failed",
    "503": "No provider can serve this request, or the redaction it asks for is unavailable (nothing was sent)",
    "504": "Every capable provider timed out",
}
TYPES = [LogPage, Stats, ExplainBody, QualityAnswer, QualityReport]  # their schemas join the document's components


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def problems(*statuses: str) -> dict[str, Any]:
    return {
        s: {"description": PROBLEMS[s], "content": {"application/problem+json": {"schema": ref("Problem")}}}
        for s in statuses
    }


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or _STR}


_STR: dict[str, Any] = {"type": "string"}  # an empty value is the same as none
_STATUS = {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}
_LOG_FILTERS = [
    _query("task", "only this task (vision.labels, ...)"),
    _query("provider", "only this provider"),
    _query("region", "only requests processed in this region (eu-west-1, westeurope, global)"),
    _query("status", "ok, error, or an HTTP status code", {"type": "string", "pattern": "^(ok|error|[0-9]{3})?$"}),
    _query("key", "only this key id"),
    _query("request_id", "one request"),
    _query("since", "unix seconds, ISO 8601, or a duration ago such as 15m"),
    _query("until", "unix seconds, ISO 8601, or a duration ago such as 15m"),
    _query("limit", "records per page (1-1000, default 100)", {"type": "integer", "minimum": 1, "maximum": 1000}),
    _query("cursor", "the previous page's next_cursor"),
]


def _op(op_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operationId": op_id, "summary": summary, "tags": ["operations"], "responses": responses, **extra}


_EXPLAIN_BODY = {"required": True, "content": {"application/json": {"schema": ref("ExplainBody")}}}
_PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {"get": _op("healthz", "Liveness: the process answers", {"200": _json("Alive", _STATUS)})},
    "/readyz": {
        "get": _op(
            "readyz",
            "Readiness: a policy is loaded and a provider is healthy",
            {"200": _json("Ready"), "503": _json("Not ready: no provider is healthy")},
        )
    },
    "/v1/providers": {
        "get": _op(
            "providers",
            "Each provider: kind, capabilities, prices, health, circuits",
            {"200": _json("The providers"), **problems("401")},
        )
    },
    "/v1/logs": {
        "get": _op(
            "logs",
            "The request log, newest first, filtered and paged (admin key on a protected gateway)",
            {"200": _json("One page", ref("LogPage")), **problems("400", "401", "403", "404")},
            parameters=_LOG_FILTERS,
        )
    },
    "/v1/stats": {
        "get": _op(
            "stats",
            "Per provider and task over a window: requests, errors, p50/p95, cost, drift; "
            "shadow agreement per (task, served, shadow) in `comparisons` (admin)",
            {"200": _json("The statistics", ref("Stats")), **problems("400", "401", "403", "404")},
            parameters=[
                _query("window", "a duration such as 15m or 1h (default 1h)"),
                _query("task", "only this task's shadow comparisons"),
            ],
        )
    },
    "/v1/quality": {
        "get": _op(
            "quality",
            "The quality table: per task, language, provider and source (agreement with the consensus, "
            "accuracy against references) the samples and their mean score over a window (admin)",
            {"200": _json("The table", ref("QualityAnswer")), **problems("400", "401", "403")},
            parameters=[
                _query("task", "only this task (text.sentiment, ...)"),
                _query("language", "only this language (primary subtag: en, es; und: undetermined)"),
                _query("provider", "only this provider"),
                _query("source", "agreement or reference", {"type": "string", "enum": ["", "agreement", "reference"]}),
                _query("since", "unix seconds, ISO 8601, or a duration ago such as 24h"),
                _query("window", "a duration such as 1h or 7d (default: the quality window routing uses)"),
            ],
        ),
        "post": _op(
            "quality_report",
            "Add samples to the quality table, e.g. omnisense eval's accuracy against references (admin)",
            {"200": _json("Recorded"), **problems("400", "401", "403", "422")},
            requestBody={"required": True, "content": {"application/json": {"schema": ref("QualityReport")}}},
        ),
    },
    "/metrics": {
        "get": _op(
            "metrics",
            "Prometheus metrics (the text exposition format)",
            {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        )
    },
    "/v1/route/explain": {
        "post": _op(
            "route_explain",
            "Dry run: the plan a request would get, and why each candidate was kept or dropped",
            {"200": _json("The plan and its decisions"), **problems("400", "401", "403", "422")},
            requestBody=_EXPLAIN_BODY,
        )
    },
    "/v1/policy": {
        "get": _op(
            "policy",
            "The policy in force, its routes and the last reload (or refusal)",
            {"200": _json("The policy"), **problems("401")},
        )
    },
    "/v1/policy/reload": {
        "post": _op(
            "policy_reload",
            "Reload the policy file now (admin); 422 with the problems when the file is refused",
            {
                "200": _json("Reloaded"),
                "422": _json("Refused: the file has problems; the last good policy keeps serving"),
                **problems("400", "401", "403"),
            },
        )
    },
}


def operational_paths() -> dict[str, dict[str, Any]]:
    """The operational endpoints' path items (a copy: the document's users may change theirs)."""
    return copy.deepcopy(_PATHS)

"""The OpenAPI 3.1 document, built from the schema's Structs.

Built by hand rather than by litestar's generator because every task endpoint takes
three input forms (JSON, multipart, raw bytes) that one typed handler parameter cannot
describe. Paths, bodies and results come from the task table; schemas come from msgspec,
so they are the same types the server decodes.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.schema import TABLE, Envelope, InputKind, Problem, Task, spec_of

ERRORS = {
    "400": "Bad input: corrupt image or audio, invalid JSON or base64",
    "401": "Missing or invalid API key",
    "403": "The key may not do this (routing hint, admin endpoint)",
    "413": "Payload over the configured size or length limit",
    "415": "Not a supported image/audio format (sniffed from the bytes)",
    "422": "Empty text, unknown language code, invalid field",
    "429": "Budget exceeded or rate limited",
    "502": "Every capable provider failed",
    "503": "No provider can serve this request",
    "504": "Every capable provider timed out",
}
# The operational endpoints: (method, path, summary, answer media type).
OPERATIONS = [
    ("get", "/healthz", "Liveness: the process answers", "application/json"),
    ("get", "/readyz", "Readiness: a policy is loaded and a provider is healthy (503 otherwise)", "application/json"),
    ("get", "/v1/providers", "Each provider: kind, capabilities, prices, health, circuits", "application/json"),
    ("get", "/v1/logs", "The request log: filters task, provider, status, key, since, until; paged (admin)",
     "application/json"),
    ("get", "/v1/stats", "Per provider and task over ?window=1h: requests, errors, p50/p95, cost, drift (admin)",
     "application/json"),
    ("get", "/metrics", "Prometheus metrics", "text/plain"),
    ("post", "/v1/route/explain", "Dry run: the plan a request would get, and why each candidate was kept or dropped",
     "application/json"),
    ("get", "/v1/policy", "The policy in force, its routes and the last reload (or refusal)", "application/json"),
    ("post", "/v1/policy/reload", "Reload the policy file now (admin)", "application/json"),
]  # fmt: skip
IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff"]
AUDIO_TYPES = ["audio/wav", "audio/mpeg", "audio/flac", "audio/ogg"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _request_body(task: Task) -> dict[str, Any]:
    spec = spec_of(task)
    content: dict[str, Any] = {"application/json": {"schema": _ref(spec.body.__name__)}}
    field = spec.media_field
    if field is not None:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "required": [field],
                "properties": {field: {"type": "string", "format": "binary"}},
                "additionalProperties": {"type": "string"},
            }
        }
        raw = {"schema": {"type": "string", "format": "binary"}}
        uploads = AUDIO_TYPES if spec.input is InputKind.AUDIO else IMAGE_TYPES
        for media_type in [*uploads, "application/octet-stream"]:
            content[media_type] = raw
    else:
        content["text/plain"] = {"schema": {"type": "string"}}
    return {"required": True, "content": content}


def _operation(task: Task) -> dict[str, Any]:
    spec = spec_of(task)
    envelope = f"Envelope_{spec.result.__name__}_"
    ok: dict[str, Any] = {"application/json": {"schema": _ref(envelope)}}
    if spec.answers_audio:
        ok = {t: {"schema": {"type": "string", "format": "binary"}} for t in ("audio/wav", "audio/mpeg", "audio/ogg")}
        ok["application/json"] = {"schema": _ref(envelope)}
    responses: dict[str, Any] = {"200": {"description": f"The normalized {task} result", "content": ok}}
    for status, why in ERRORS.items():
        responses[status] = {"description": why, "content": {"application/problem+json": {"schema": _ref("Problem")}}}
    return {
        "operationId": task.value.replace(".", "_"),
        "tags": [task.modality],
        "summary": task.value,
        "parameters": [
            {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
            {"name": "X-Omnisense-Provider", "in": "header", "schema": {"type": "string"}, "description": "pin"},
            {"name": "X-Omnisense-Policy", "in": "header", "schema": {"type": "string"}},
        ],
        "requestBody": _request_body(task),
        "responses": responses,
    }


def openapi_document() -> dict[str, Any]:
    bodies = dict.fromkeys(spec.body for spec in TABLE.values())
    types: list[Any] = [Problem, *bodies, *(Envelope[spec.result] for spec in TABLE.values())]  # type: ignore[name-defined]
    _, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    paths: dict[str, Any] = {spec.path: {"post": _operation(task)} for task, spec in TABLE.items()}
    for method, path, summary, media_type in OPERATIONS:
        ok = {"200": {"description": "OK", "content": {media_type: {"schema": {"type": "object"}}}}}
        problems = {s: {"description": ERRORS[s], "content": {"application/problem+json": {"schema": _ref("Problem")}}}
                    for s in ("400", "401", "403")}  # fmt: skip
        op: dict[str, Any] = {"operationId": path.strip("/").replace("/", "_"), "summary": summary, "responses": ok}
        if path.startswith("/v1/"):
            op["responses"] = {**ok, **problems}
        if method == "post" and path == "/v1/route/explain":
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Omnisense", "version": "1", "description": "One API for vision, text and speech."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
    }

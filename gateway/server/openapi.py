"""The OpenAPI 3.1 document, built from the schema's Structs.

Built by hand rather than by litestar's generator because every task endpoint takes
three input forms (JSON, multipart, raw bytes) that one typed handler parameter cannot
describe. Paths, bodies and results come from the task table; schemas come from msgspec,
so they are the same types the server decodes, with
their constraints (``minLength``, ``minimum``...). Every operation lists every status it
can answer; the operational endpoints are described in ``openapi_ops``. The document is
checked by schemathesis and by generating a client with openapi-python-client (tests).
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.server.openapi_jobs import COMPONENTS as JOB_COMPONENTS
from gateway.server.openapi_jobs import TYPES as JOB_TYPES
from gateway.server.openapi_jobs import job_paths
from gateway.server.openapi_live import live_components, live_description
from gateway.server.openapi_openai import COMPONENTS as OPENAI_COMPONENTS
from gateway.server.openapi_openai import openai_paths
from gateway.server.openapi_ops import TYPES, operational_paths, problems
from gateway.server.openapi_ops import ref as _ref
from omnisense.schema import TABLE, Envelope, Problem, Task, spec_of

QUOTE = {  # the answer of ?dry_run=true (gateway.server.quote)
    "type": "object",
    "required": ["dry_run", "task", "units", "unit", "plan", "price_usd", "reserve_usd", "answer"],
    "properties": {
        "dry_run": {"type": "boolean", "enum": [True]},
        "task": {"type": "string"},
        "units": {"type": "number"},
        "unit": {"type": "string"},
        "plan": {"type": "array", "items": {"type": "object"}},
        "price_usd": {"type": ["number", "null"]},
        "reserve_usd": {"type": ["number", "null"]},
        "budget_left_usd": {"type": ["number", "null"]},
        "answer": {"type": "string"},
    },
}
TASK_STATUSES = ("400", "401", "403", "413", "415", "422", "429", "502", "503", "504")
RAW_UPLOAD = (
    "The raw {media} bytes. Any Content-Type works (image/png, audio/wav, ...): the format is "
    "sniffed from the bytes, never taken from a header or a file name. Options go in the query string."
)
RAW_ONLY = "With a raw body only: with JSON or multipart, options go in the body (a query option is a 422 there)"
TEXT_PLAIN = (
    "Text tasks also take the raw text as text/plain, with the options in the query string."
    " With `providers` (two or more), the request fans out: every provider answers at once, and the envelope's"
    " `result` is their consensus, with `consensus`, `agreement` and `answers` (each provider's) beside it."
)
SYNTHESIZE = (
    "The answer is the audio itself (audio/wav, audio/mpeg, audio/ogg or audio/L16, by the `format` field) "
    "unless the request's Accept header names application/json: then it is the JSON envelope with the "
    "audio in base64. With `stream: true` the audio is sent while it is produced (chunked transfer, no "
    "Content-Length; a WAV header's sizes are 0xFFFFFFFF), `Server-Timing` carries `ttfb`, and a failure "
    "after the first byte ends the body without its closing chunk (see docs/streamed-synthesis.md)."
)
# the raw text, UTF-8 (binary: a generated client sends the bytes as they are)
TEXT_BODY = {"type": "string", "format": "binary", "description": "the text itself, UTF-8"}
AUDIO_ANSWERS = ("audio/wav", "audio/mpeg", "audio/ogg", "audio/L16")
ACCEPT = {
    "name": "Accept",
    "in": "header",
    "required": False,
    "description": "application/json: the JSON envelope (audio in base64); audio/* (or none): the audio itself,"
    " in the `format` asked for",
    "schema": {"type": "string", "enum": ["application/json", "audio/*"]},
}
REQUEST_ID = "Used as the request id when it is 1-128 of A-Z a-z 0-9 . _ : - (else the gateway makes one)"
MEDIA_REF = {
    "title": "MediaRef",
    "description": "Exactly one of: the bytes in base64, or a URL the gateway fetches (where the operator allows it).",
    "oneOf": [
        {
            "type": "object",
            "properties": {"base64": {"type": "string", "minLength": 1, "contentEncoding": "base64"}},
            "required": ["base64"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"url": {"type": "string", "format": "uri", "minLength": 1}},
            "required": ["url"],
            "additionalProperties": False,
        },
    ],
}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without its ``null`` alternative (a query or form value is never null)."""
    options = [o for o in schema.get("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        return {**options[0], **({"default": schema["default"]} if schema.get("default") is not None else {})}
    return schema


def _no_default(schema: dict[str, Any]) -> dict[str, Any]:
    """Query options carry no default: a client must not send them unasked (they clash with a JSON body)."""
    return {k: v for k, v in schema.items() if k != "default"}


PROVIDERS_OPTION = {
    "type": "string",
    "minLength": 1,
    "description": "fan-out: two to eight provider names, comma-separated (aws,google,azure); each is asked at once"
    " and the answer is their consensus, with every answer side by side",
}


CLASSES_OPTION = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^\s*[^,\s][^,]*(,\s*[^,\s][^,]*)*$",
    "description": "vision.objects: only objects of these classes, comma-separated (person,car), case-insensitive",
}
_LIST_OPTIONS = {"providers": PROVIDERS_OPTION, "classes": CLASSES_OPTION}


def _options(body: dict[str, Any], media: str) -> dict[str, dict[str, Any]]:
    """The body's option fields (everything but the media and the routing hints), as query/form values;
    ``providers`` and ``classes`` there are one comma-separated value each."""
    skip = {media, "routing"}
    return {
        name: _LIST_OPTIONS[name] if name in _LIST_OPTIONS else _not_null(prop)
        for name, prop in body["properties"].items()
        if name not in skip
    }


def _request_body(task: Task, components: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The request body (JSON, and for media tasks multipart and raw bytes) and the query parameters."""
    spec = spec_of(task)
    body_name = spec.body.__name__
    content: dict[str, Any] = {"application/json": {"schema": _ref(body_name)}}
    field = spec.media_field
    if field is None:
        content["text/plain"] = {"schema": TEXT_BODY}
        return {"required": True, "description": TEXT_PLAIN, "content": content}, _query(
            _options(components[body_name], "text")
        )
    options = _options(components[body_name], field)
    content["multipart/form-data"] = {
        "schema": {
            "type": "object",
            "required": [field],
            "properties": {field: {"type": "string", "format": "binary"}, **options},
            "additionalProperties": False,
        }
    }
    content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
    return {"required": True, "description": RAW_UPLOAD.format(media=field), "content": content}, _query(options)


def _query(options: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The options as query parameters (with a raw or text/plain body only)."""
    return [
        {"name": name, "in": "query", "required": False, "description": RAW_ONLY, "schema": _no_default(schema)}
        for name, schema in options.items()
    ]


def _operation(task: Task, components: dict[str, Any]) -> dict[str, Any]:
    spec = spec_of(task)
    envelope = {"schema": {"anyOf": [_ref(f"Envelope_{spec.result.__name__}_"), QUOTE]}}  # dry_run: a quote
    ok: dict[str, Any] = {"application/json": envelope}
    description = None
    headers: list[dict[str, Any]] = []
    if spec.answers_audio:
        ok.update({t: {"schema": {"type": "string", "format": "binary"}} for t in AUDIO_ANSWERS})
        description = SYNTHESIZE
        headers.append(ACCEPT)
    body, query = _request_body(task, components)
    headers += [
        {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}, "description": REQUEST_ID},
        {"name": "X-Omnisense-Provider", "in": "header", "schema": {"type": "string"}, "description": "pin"},
        {"name": "X-Omnisense-Policy", "in": "header", "schema": {"type": "string"}, "description": "choose"},
        {"name": "X-Omnisense-Residency", "in": "header", "schema": {"type": "string"},
         "description": "process only in these jurisdictions (eu, or eu,ch): other providers are excluded"},
        {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255},
         "description": "a repeat with the same content gets the stored answer (24 h), with no vendor call"},
        {"name": "dry_run", "in": "query", "required": False, "schema": {"type": "boolean"},
         "description": "answer the plan and the price (a quote) and call nothing"},
    ]  # fmt: skip
    op: dict[str, Any] = {
        "operationId": task.value.replace(".", "_"),
        "tags": [task.modality],
        "summary": task.value,
        "parameters": [*headers, *query],
        "requestBody": body,
        "responses": {
            "200": {"description": f"The normalized {task} result", "content": ok},
            **problems(*TASK_STATUSES),
        },
    }
    if description:
        op["description"] = description
    return op


DESCRIPTION = "One API for vision, text and speech.\n"


def openapi_document() -> dict[str, Any]:
    bodies = dict.fromkeys(spec.body for spec in TABLE.values())
    envelopes = [Envelope[spec.result] for spec in TABLE.values()]  # type: ignore[name-defined]
    types: list[Any] = [Problem, *bodies, *envelopes, *TYPES, *JOB_TYPES]
    _, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    components["MediaRef"] = MEDIA_REF
    components.update(JOB_COMPONENTS)
    components.update(OPENAI_COMPONENTS)
    components.update(live_components())
    paths: dict[str, Any] = {spec.path: {"post": _operation(task, components)} for task, spec in TABLE.items()}
    paths.update(operational_paths())
    paths.update(job_paths())
    paths.update(openai_paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": "Omnisense", "version": "1", "description": DESCRIPTION + live_description()},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
    }

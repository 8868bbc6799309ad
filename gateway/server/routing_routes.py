"""Routing endpoints: ``POST /v1/route/explain`` (a dry run) and ``GET /v1/policy``.

``/v1/route/explain`` takes a description of a request (no payload needed: the image's
format and size, the text or its length, the audio's seconds) and answers the plan it
would get now — the same planner, guards and facts as a real request, without calling
a provider or changing any state (round-robin turns, budgets, circuits) — with every
candidate's decision: kept at which position and why, or dropped and why. The log
record of a real request carries the same decisions (``decisions``). A request that fans
out (its ``providers``, or its route's ``fanout``) is answered its fan-out plan instead:
``fanout`` with the providers, the tiebreak and its rule, the estimated cost of every
call, and the providers a route's fan-out leaves out, with why.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post

from gateway.dispatch import Dispatcher
from gateway.server.problems import unprocessable
from gateway.server.runtime import Runtime
from gateway.server.scope import RouteChoice, route_choice
from omnisense.schema import (
    InputKind,
    InvalidInput,
    Media,
    OmnisenseError,
    Task,
    TaskRequest,
    UnprocessableInput,
    spec_of,
)
from omnisense.schema.requests import Language, RoutingHints
from policies.plan import RESIDENCY
from policies.refusal import refusal

_encoder = msgspec.json.Encoder()


class ExplainBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task: Task
    text: str | None = None
    characters: Annotated[int, msgspec.Meta(ge=1)] | None = None  # instead of ``text``: only its length matters
    language: Language | None = None
    source_language: Language | None = None
    target_language: Language | None = None
    format: str | None = None  # image/audio input format, or the synthesized audio format
    bytes: Annotated[int, msgspec.Meta(ge=0)] = 0  # image/audio size
    audio_seconds: Annotated[float, msgspec.Meta(ge=0)] | None = None
    voice: str | None = None
    routing: RoutingHints | None = None
    providers: list[str] | None = None  # a fan-out, as the request would name it


DEFAULT_FORMATS = {InputKind.IMAGE: "jpeg", InputKind.AUDIO: "wav"}


def _request_of(body: ExplainBody, max_bytes: int) -> TaskRequest:
    """The task's own request type (its row in the task table), with placeholder content."""
    spec = spec_of(body.task)
    if body.bytes > max_bytes:
        raise UnprocessableInput(f"bytes: at most {max_bytes}", field="bytes")
    names = {info.name for info in spec.fields}
    given = msgspec.structs.asdict(body)
    fields: dict[str, Any] = {k: v for k, v in given.items() if k in names and v is not None}
    if spec.media_field is not None:
        fmt = body.format or DEFAULT_FORMATS.get(spec.input, "jpeg")
        media = Media(data=bytes(body.bytes), format=fmt, duration_s=body.audio_seconds)
        fields[spec.media_field] = media
        fields.pop("format", None)
    else:
        fields["text"] = body.text if body.text is not None else "x" * min(body.characters or 1, 1_000_000)
    for info in spec.fields:
        if info.required and info.name not in fields:
            raise UnprocessableInput(f"{info.name} is required for {body.task}", field=info.name)
    try:
        request: TaskRequest = msgspec.convert(fields, spec.request, from_attributes=True)
    except msgspec.ValidationError as exc:
        raise unprocessable(exc, "the explain body") from None
    return request


async def _fanout(
    dispatcher: Dispatcher, task: Task, request: TaskRequest, key_id: str | None, choice: RouteChoice
) -> dict[str, Any] | None:
    """The explanation of a request that fans out (or of its refusal); None: it does not."""
    try:
        fanout = await dispatcher.plan_fanout(
            task, request, key_id, choice.pinned, allowed=choice.allowed, residency=choice.residency
        )
    except OmnisenseError as exc:  # what the request would be answered
        return {"fanout": None, "answer": f"refused: {exc.status} {exc.detail}"}
    if fanout is None:
        return None
    plan = {**msgspec.to_builtins(fanout), "providers": fanout.providers, "rule": fanout.rule()}
    return {"fanout": plan, "answer": fanout.rule()}


@post("/v1/route/explain", include_in_schema=False, status_code=200)
async def explain(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime: Runtime = request.app.state.runtime
    key = runtime.keys.authenticate(request.headers)
    try:
        body = msgspec.json.decode(await request.body(), type=ExplainBody)
    except msgspec.ValidationError as exc:
        raise unprocessable(exc, "the explain body") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"explain body is not JSON: {exc}") from None
    runtime.keys.check_task(key, body.task)
    task_request = _request_of(body, runtime.config.limits.max_audio_bytes)
    choice = route_choice(runtime, request.headers, key, body.routing)
    fanned = await _fanout(choice.dispatcher, body.task, task_request, key.id if key else None, choice)
    if fanned is not None:
        return Response(_encoder.encode(fanned), media_type="application/json")
    plan = await choice.dispatcher.plan(
        body.task, task_request, key.id if key else None, choice.pinned, dry_run=True,
        allowed=choice.allowed, residency=choice.residency,
    )  # fmt: skip
    out = msgspec.to_builtins(plan)
    out["decisions"] = [{**msgspec.to_builtins(d), "summary": str(d)} for d in plan.decisions]
    out["excluded"] = [  # the providers left out for where they process data, and why
        {"provider": d.provider, "reason": d.reason} for d in plan.decisions if d.kind == RESIDENCY
    ]
    if plan.budget_rejected:
        out["answer"] = "reject: budget exceeded"
    elif plan.steps:
        out["answer"] = f"served by {plan.steps[0].provider}"
    else:  # what the request would be answered: the same refusal as the dispatcher's
        refused = refusal(body.task, plan, key.id if key else None)
        out["answer"] = f"refused: {refused.status} {refused.detail}"
    return Response(_encoder.encode(out), media_type="application/json")


@get("/v1/policy", include_in_schema=False)
async def policy(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The policy serving now, per task, and the state of live reload (refusals included)."""
    runtime: Runtime = request.app.state.runtime
    runtime.keys.authenticate(request.headers)
    loaded = runtime.policy
    planner = runtime.planner
    routes = {
        task.value: {
            "route": r.pattern,
            "strategy": r.strategy,
            "candidates": [c.provider for c in r.candidates],
            "shadow": r.shadow,
            "hedge_after_ms": r.hedge_after_ms,
            "residency": sorted(req) if (req := planner.residency.get(task)) is not None else None,
        }
        for task, r in planner.routes.items()
    }
    body = {
        "name": loaded.name,
        "source": loaded.source,
        "providers": {n: b.get("kind") for n, b in loaded.policy.providers.items()},  # blocks may hold secrets
        "routes": routes,
        "budgets": [msgspec.to_builtins(b) for b in loaded.policy.budgets],
        "reload": msgspec.to_builtins(runtime.reloader.status) if runtime.reloader else None,
    }
    return Response(_encoder.encode(body), media_type="application/json")


@post("/v1/policy/reload", include_in_schema=False, status_code=200)
async def reload_policy(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Reload the policy file now (admin keys only); 422 with the problems when refused."""
    runtime: Runtime = request.app.state.runtime
    key = runtime.keys.authenticate(request.headers)
    runtime.keys.require_admin(key, runtime.keys.protected)
    if runtime.reloader is None:
        raise InvalidInput("live reload is not configured")
    ok = await runtime.reloader.reload("POST /v1/policy/reload")
    body = {"reloaded": ok, **msgspec.to_builtins(runtime.reloader.status)}
    return Response(_encoder.encode(body), status_code=200 if ok else 422, media_type="application/json")


ROUTING_HANDLERS = [explain, policy, reload_policy]

"""What ``model`` names in the OpenAI dialect, and ``GET /v1/models``.

``omnisense`` (the default) lets the policy route the call; a provider's name (``aws``,
``google``, ``local``, ...) pins that provider (as ``X-Omnisense-Provider`` does); a named
policy's name routes the call by that policy (as ``X-Omnisense-Policy`` does). OpenAI's
own model names (``whisper-1``, ``tts-1``, ``omni-moderation-latest``, ...) are taken as
``omnisense``, so code written for OpenAI runs unchanged. Anything else is a 404 with
``code: model_not_found``.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar import Request, Response, get

from gateway.server.openai.errors import error_response
from gateway.server.runtime import Runtime
from omnisense.schema import NotFound, RoutingHints

DEFAULT_MODEL = "omnisense"
OPENAI_ALIASES = frozenset(
    {
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "tts-1",
        "tts-1-hd",
        "gpt-4o-mini-tts",
        "omni-moderation-latest",
        "text-moderation-latest",
        "text-moderation-stable",
    }
)


def model_names(runtime: Runtime) -> dict[str, str]:
    """Every model name the dialect takes, and what it names (``owned_by`` in ``/v1/models``)."""
    names = {DEFAULT_MODEL: "omnisense: the policy routes the call"}
    names.update({name: "provider" for name in runtime.providers})
    names.update({name: "policy" for name in runtime.routing.named if name not in names})
    return names


def routing_for(runtime: Runtime, model: str | None) -> RoutingHints | None:
    """The routing hints ``model`` stands for; an unknown name is a 404 naming the known ones."""
    if not model or model == DEFAULT_MODEL or model in OPENAI_ALIASES:
        return None
    if model in runtime.providers:
        return RoutingHints(provider=model)
    if model in runtime.routing.named:
        return RoutingHints(policy=model)
    known = ", ".join(model_names(runtime))
    raise NotFound(
        f"the model {model!r} does not exist (models here: {known}; GET /v1/models lists them)", field="model"
    )


@get("/v1/models", name="openai:models", sync_to_thread=False, exception_handlers={Exception: error_response})
def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime: Runtime = request.app.state.runtime
    runtime.keys.authenticate(request.headers)
    created = int(time.time())
    data = [{"id": n, "object": "model", "created": created, "owned_by": o} for n, o in model_names(runtime).items()]
    return Response(msgspec.json.encode({"object": "list", "data": data}), media_type="application/json")

"""Helpers for the routing tests: planners over scripted providers, built from YAML text."""

from __future__ import annotations

from typing import Any

from adapters import registry
from contract_tests.scripted_provider import ScriptedProvider
from omnisense.schema import ImageRequest, Media, Task, TextRequest
from policies.loader import LoadedPolicy, parse_policy
from policies.planner import Planner

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
IMAGE = ImageRequest(image=Media(data=b"\xff\xd8\xff" + b"0" * 100, format="jpeg", width=10, height=10))
TEXT = TextRequest(text="What a lovely day")


def block(**extra: Any) -> str:
    def text(v: Any) -> str:
        return f"{v:.10f}" if isinstance(v, float) else str(v)  # PyYAML reads 5e-05 as a string

    fields = ", ".join(f"{k}: {text(v)}" for k, v in {"kind": f'"{SCRIPTED}"', **extra}.items())
    return "{" + fields + "}"


def policy_text(providers: dict[str, dict[str, Any]], routes: str, defaults: str = "{}", extra: str = "") -> str:
    lines = ["version: 1", "providers:"]
    lines += [f"  {name}: {block(**fields)}" for name, fields in providers.items()]
    lines += [f"defaults: {defaults}", "routes:", routes, extra]
    return "\n".join(lines)


def build(
    providers: dict[str, dict[str, Any]], routes: str, defaults: str = "{}", extra: str = ""
) -> tuple[Planner, dict[str, ScriptedProvider]]:
    text = policy_text(providers, routes, defaults, extra)
    loaded = LoadedPolicy(name="test", source="<test>", policy=parse_policy(text))
    built = {name: registry.build(name, loaded.policy.providers[name]) for name in providers}
    return Planner(loaded, {n: p.info for n, p in built.items()}), built


def order(planner: Planner, task: Task = Task.VISION_LABELS, request: Any = IMAGE, **kwargs: Any) -> list[str]:
    from policies.plan import NoFacts, RequestMeta

    facts = kwargs.pop("facts", NoFacts())
    plan = planner.plan(task, request, RequestMeta(**kwargs), facts)
    return [s.provider for s in plan.steps]


def wait_for(condition: Any, timeout_s: float = 3.0) -> None:
    """Poll ``condition()`` (records reach the sink off the request path)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def scripted_policy(providers: dict[str, dict[str, Any]], routes: str, defaults: str = "{}", extra: str = "") -> str:
    return policy_text(providers, routes, defaults, extra)

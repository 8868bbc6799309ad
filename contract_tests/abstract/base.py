"""What every contract class shares: running a task and checking the conventions."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import msgspec
import pytest

from adapters.base import CallContext, Provider, ProviderResult
from omnisense.schema import RESULT_TYPES, Box, ImageRequest, Media, Task, TaskRequest, TaskResult


def image_media(data: bytes) -> Media:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        fmt = (img.format or "").lower().replace("jpg", "jpeg")
        return Media(data=data, format=fmt, width=img.width, height=img.height)


def image_request(data: bytes, **kw: Any) -> ImageRequest:
    return ImageRequest(image=image_media(data), **kw)


def check_box(box: Box) -> None:
    for name in ("left", "top", "width", "height"):
        assert 0.0 <= getattr(box, name) <= 1.0, f"box.{name} outside [0, 1]: {box}"
    assert box.left + box.width <= 1.0001 and box.top + box.height <= 1.0001, box


def check_roundtrip(result: TaskResult, task: Task) -> None:
    """The result survives JSON and decodes (and re-validates) as its task's type."""
    decoded = msgspec.json.decode(msgspec.json.encode(result), type=RESULT_TYPES[task])
    assert decoded == result


class ProviderContract:
    """Base of the per-task contract classes. Subclasses give the ``provider`` fixture."""

    task: ClassVar[Task]
    timeout_s: ClassVar[float] = 30.0

    @pytest.fixture
    def provider(self) -> Provider:  # pragma: no cover - subclasses override
        raise NotImplementedError("the adapter's test module gives the `provider` fixture")

    def require(self, provider: Provider, task: Task | None = None) -> None:
        task = task or self.task
        if not provider.info.supports(task):
            pytest.skip(f"{provider.info.name} does not declare {task}")

    async def run(self, provider: Provider, request: TaskRequest, task: Task | None = None) -> ProviderResult:
        task = task or self.task
        self.require(provider, task)
        ctx = CallContext(request_id="contract-test", deadline=time.monotonic() + self.timeout_s)
        out = await provider.run(task, request, ctx)
        assert isinstance(out, ProviderResult)
        assert isinstance(out.result, RESULT_TYPES[task]), f"{task} returned {type(out.result).__name__}"
        assert out.model, "a result names the model that made it"
        check_roundtrip(out.result, task)
        return out

    def test_declares_prices_for_its_tasks(self, provider: Provider) -> None:
        self.require(provider)
        # Cost is computed for every request: a declared task without a price would bill 0.
        if provider.info.kind != "local":
            assert self.task in provider.info.prices, f"no price for {self.task}"

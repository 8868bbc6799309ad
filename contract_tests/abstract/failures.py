"""The failure contract: each way a vendor fails becomes the right gateway error.

A subclass gives ``provider`` (pointing at its fake, with a short timeout) and
``arrange(kind)``, which scripts the fake so that the next call fails that way, plus
``failing_call`` (the task and request to send).
"""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

import pytest

from adapters.base import CallContext, Provider
from omnisense.schema import (
    InvalidInput,
    OmnisenseError,
    Task,
    TaskRequest,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

EXPECTED: dict[str, tuple[type[OmnisenseError], bool, bool]] = {
    # kind: (error class, retryable, fallback to the next provider)
    "auth": (UpstreamAuth, False, True),
    "throttle": (UpstreamThrottled, True, True),
    "timeout": (UpstreamTimeout, True, True),
    "server_error": (UpstreamUnavailable, True, True),
    "malformed": (UpstreamBadResponse, False, True),
    "error_in_200": (UpstreamBadResponse, False, True),
    "bad_input": (InvalidInput, False, False),
}


class FailureContract:
    failure_kinds: ClassVar[tuple[str, ...]] = tuple(EXPECTED)
    timeout_s: ClassVar[float] = 20.0

    @pytest.fixture
    def provider(self) -> Provider:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def arrange(self, kind: str) -> None:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def failing_call(self) -> tuple[Task, TaskRequest]:  # pragma: no cover
        raise NotImplementedError

    @pytest.mark.parametrize("kind", list(EXPECTED))
    async def test_failure_maps(self, provider: Provider, kind: str) -> None:
        if kind not in self.failure_kinds:
            pytest.skip(f"{provider.info.name} cannot fail as {kind!r} (no such vendor behaviour)")
        self.arrange(kind)
        task, request = self.failing_call()
        cls, retryable, fallback = EXPECTED[kind]
        ctx = CallContext(request_id=f"failure-{kind}", deadline=time.monotonic() + self.timeout_s)
        with pytest.raises(cls) as info:
            await asyncio.wait_for(provider.run(task, request, ctx), self.timeout_s)
        err = info.value
        assert err.retryable is retryable and err.fallback is fallback, (kind, type(err).__name__)
        # The dispatcher names the provider on the error; an adapter may too, but never another one.
        assert err.provider in (None, provider.info.name)

"""When a failed call is tried again on the same provider (the dispatcher's and streamed synthesis's one rule)."""

from __future__ import annotations

import time

from omnisense.schema import OmnisenseError, UpstreamTimeout
from policies.plan import Step


def worth_retrying(exc: BaseException, step: Step, deadline: float) -> bool:
    """Whether to try the same provider again, or move on to the next candidate at once.

    Only a retryable error is retried, and only while the request's deadline leaves room:
    a Retry-After longer than the time left is not waited out (the next candidate is
    healthy now), and after a timeout the same provider is tried again only when a whole
    attempt (its step timeout, after the hinted wait) still fits.
    """
    if not (isinstance(exc, OmnisenseError) and exc.retryable):
        return False
    left = deadline - time.monotonic()
    hinted = exc.retry_after_s or 0.0
    if hinted >= left:
        return False
    if isinstance(exc, UpstreamTimeout):
        return left - hinted >= step.timeout_s
    return left - hinted > 0.0

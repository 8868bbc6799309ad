"""The one error tree of the gateway (DESIGN §3).

Adapters raise only these, mapping the vendor's exception with ``raise ... from exc``.
Each class carries what the dispatcher and the HTTP layer need to know:

- ``status``: the HTTP status the caller sees when this error ends the request;
- ``retryable``: the same provider may be tried again;
- ``fallback``: the next provider in the plan may be tried.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OmnisenseError(Exception):
    status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False
    fallback: ClassVar[bool] = False
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        provider: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.provider = provider
        self.retry_after_s = retry_after_s
        # Set where the error reached a caller: the Python client fills these from problem+json.
        self.request_id: str | None = None
        self.attempts: list[Any] = []

    @property
    def type_uri(self) -> str:
        return f"/problems/{self.slug}"


class InternalError(OmnisenseError):
    """A bug in the gateway: still answered as problem+json with the request id."""


# --- the caller's fault -------------------------------------------------------------


class InvalidInput(OmnisenseError):
    status = 400
    slug = "invalid-input"
    title = "Invalid input"


class PayloadTooLarge(InvalidInput):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(InvalidInput):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class UnprocessableInput(InvalidInput):
    status = 422
    slug = "unprocessable-input"
    title = "Unprocessable input"


class Unauthorized(OmnisenseError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(OmnisenseError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(OmnisenseError):
    status = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowed(OmnisenseError):
    """The path exists but not with this HTTP method (the answer's ``Allow`` header lists them)."""

    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class BudgetExceeded(OmnisenseError):
    status = 429
    slug = "budget-exceeded"
    title = "Budget exceeded"


class RateLimited(OmnisenseError):
    status = 429
    slug = "rate-limited"
    title = "Rate limited"


# --- the provider's fault -----------------------------------------------------------


class UpstreamError(OmnisenseError):
    status = 502
    fallback = True
    slug = "upstream-error"
    title = "Upstream error"


class UpstreamAuth(UpstreamError):
    slug = "upstream-auth"
    title = "The provider rejected the gateway's credentials"


class UpstreamThrottled(UpstreamError):
    retryable = True
    slug = "upstream-throttled"
    title = "The provider is throttling"


class UpstreamTimeout(UpstreamError):
    status = 504
    retryable = True
    slug = "upstream-timeout"
    title = "The provider timed out"


class UpstreamUnavailable(UpstreamError):
    retryable = True
    slug = "upstream-unavailable"
    title = "The provider is unavailable"


class UpstreamBadResponse(UpstreamError):
    slug = "upstream-bad-response"
    title = "The provider answered with an error or a malformed response"


class Unsupported(OmnisenseError):
    """The provider lacks the task, language or format: skip it, try the next."""

    status = 422
    fallback = True
    slug = "unsupported"
    title = "Unsupported by the provider"


class NoProvider(OmnisenseError):
    status = 503
    slug = "no-provider"
    title = "No provider can serve this request"


class RedactionUnavailable(OmnisenseError):
    """The route or key asks for redaction (``redact:``) and the redactor is down, erred or
    timed out: nothing was sent to a provider that is not trusted (failing closed)."""

    status = 503
    slug = "redaction-unavailable"
    title = "Redaction unavailable"


class RedactionSkipped(RedactionUnavailable):
    """``on_redaction_error: skip_untrusted``: this untrusted provider is skipped (never called)
    and the next candidate is tried; a request no trusted provider can serve ends with 503."""

    fallback = True
    slug = "redaction-unavailable"


class ShuttingDown(OmnisenseError):
    """The gateway stopped while the request was in flight (its shutdown grace period ran
    out): nothing was answered upstream that the client will see; retry elsewhere."""

    status = 503
    slug = "shutting-down"
    title = "The gateway is shutting down"


ERRORS_BY_SLUG: dict[str, type[OmnisenseError]] = {
    cls.slug: cls
    for cls in (
        InternalError,
        InvalidInput,
        PayloadTooLarge,
        UnsupportedMediaType,
        UnprocessableInput,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        BudgetExceeded,
        RateLimited,
        UpstreamError,
        UpstreamAuth,
        UpstreamThrottled,
        UpstreamTimeout,
        UpstreamUnavailable,
        UpstreamBadResponse,
        Unsupported,
        NoProvider,
        RedactionUnavailable,
        ShuttingDown,
    )
}

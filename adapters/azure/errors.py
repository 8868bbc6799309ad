"""Map what the Azure SDKs (msrest, azure-core), azure-identity and aiohttp raise to the
gateway's error tree (DESIGN §3).

Azure error bodies have the common shape ``adapters.kit.errors.error_body`` reads (Computer
Vision, Language and Content Safety nest an ``innererror``; the API gateway in front of every
service answers ``{"error": {"code": "401", ...}}``; Speech may answer an empty body), plus
Translator's ``{"error": {"code": 403001, ...}}``: six digits whose first three are the status.

The code decides the class where it is specific (``InvalidImageFormat`` -> 415,
``InvalidImageSize`` -> 413, ``UnsupportedLanguageCode`` -> Unsupported so the next provider
may serve the language); otherwise the HTTP status does (401/403 -> UpstreamAuth, 429 ->
UpstreamThrottled honouring Retry-After, 5xx -> UpstreamUnavailable, 408/504 -> UpstreamTimeout).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from adapters.kit.errors import Rule, by_class, coded_error, error_body, retry_after
from omnisense.schema import (
    OmnisenseError,
    PayloadTooLarge,
    Unsupported,
    UnsupportedMediaType,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

_BY_CODE: dict[str, type[OmnisenseError]] = {
    "InvalidImageFormat": UnsupportedMediaType,
    "InvalidImageSize": PayloadTooLarge,
    "InvalidImageDimension": PayloadTooLarge,
    "UnsupportedLanguageCode": Unsupported,
    "UnsupportedLanguage": Unsupported,
    "NotSupportedLanguage": Unsupported,
    "TooManyRequests": UpstreamThrottled,
    "RateLimitExceeded": UpstreamThrottled,
    "Unauthorized": UpstreamAuth,
    "PermissionDenied": UpstreamAuth,
    "InvalidSubscriptionKey": UpstreamAuth,
    "InternalServerError": UpstreamUnavailable,
    "ServiceUnavailable": UpstreamUnavailable,
    "Timeout": UpstreamTimeout,
}
parse_error_body = error_body  # Azure's error bodies have the shape the kit reads

# Translator codes (status * 1000 + n) that are about the language, not the input.
_TRANSLATOR_UNSUPPORTED = frozenset({400019, 400023, 400035, 400036, 400091})


def error_for(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, *, provider: str = "azure"
) -> OmnisenseError:
    """The gateway error for an Azure error answer."""
    wait = retry_after(headers, millis="x-ms-retry-after-ms")
    text = f"{code + ': ' if code else ''}{message or 'HTTP ' + str(status)}"
    if code.isdigit() and len(code) == 6:  # Translator: 403001, 429000 ...
        if int(code) in _TRANSLATOR_UNSUPPORTED:
            return Unsupported(f"{provider}: {text}"[:500], retry_after_s=wait)
        status = status or int(code[:3])
    if not status and code.isdigit() and len(code) == 3:
        status = int(code)
    return coded_error(provider, _BY_CODE, code, text, status, wait)


def from_http(status: int, headers: Mapping[str, str] | None, body: Any) -> OmnisenseError:
    code, message = parse_error_body(body)
    return error_for(status, code, message, headers)


def _timed_out(exc: BaseException, *more: Any) -> bool:
    text = " ".join([str(exc), *map(repr, more)]).lower()
    return "timeout" in text or "timed out" in text


@functools.cache
def _msrest_rules() -> tuple[Rule, ...]:
    from msrest import exceptions as mx

    return (
        (mx.DeserializationError, UpstreamBadResponse, "malformed response"),  # type: ignore[attr-defined]
        (mx.AuthenticationError, UpstreamAuth, "credentials not usable"),
        (mx.ClientException, UpstreamUnavailable, None),
    )


def _msrest(exc: BaseException) -> OmnisenseError | None:
    from msrest import exceptions as mx

    if isinstance(exc, mx.HttpOperationError) and exc.response is not None:
        resp = exc.response
        return from_http(int(resp.status_code), dict(resp.headers), resp.content)
    if isinstance(exc, mx.ClientRequestError):
        if _timed_out(exc, getattr(exc, "inner_exception", None)):
            return UpstreamTimeout(f"azure: timed out: {exc}")
        return UpstreamUnavailable(f"azure: cannot connect: {exc}")
    return by_class(exc, "azure", _msrest_rules())


@functools.cache
def _core_rules() -> tuple[Rule, ...]:
    from azure.core import exceptions as ax

    return (
        (ax.ClientAuthenticationError, UpstreamAuth, "credentials not usable"),  # azure-identity: no token
        ((ax.DecodeError, ax.DeserializationError), UpstreamBadResponse, "malformed response"),
        ((ax.ServiceResponseTimeoutError, ax.ServiceRequestTimeoutError), UpstreamTimeout, "timed out"),
        (ax.ServiceResponseError, UpstreamUnavailable, "connection broken"),
        (ax.ServiceRequestError, UpstreamUnavailable, "cannot connect"),
        (ax.AzureError, UpstreamUnavailable, None),
    )


def _azure_core(exc: BaseException) -> OmnisenseError | None:
    from azure.core import exceptions as ax

    if isinstance(exc, ax.HttpResponseError) and exc.response is not None and exc.status_code:
        resp = exc.response
        try:
            body: Any = resp.text()
        except Exception:
            body = str(exc.message or "")
        return from_http(int(exc.status_code), dict(getattr(resp, "headers", {}) or {}), body)
    if isinstance(exc, ax.ServiceResponseError) and _timed_out(exc):
        return UpstreamTimeout(f"azure: timed out: {exc.message}")
    return by_class(exc, "azure", _core_rules())


@functools.cache
def _other_rules() -> tuple[Rule, ...]:
    import aiohttp

    return (
        (aiohttp.ServerTimeoutError, UpstreamTimeout, "timed out"),
        (
            (aiohttp.ContentTypeError, aiohttp.ClientPayloadError, json.JSONDecodeError),
            UpstreamBadResponse,
            "malformed response",
        ),
        (aiohttp.ClientError, UpstreamUnavailable, "cannot connect"),
    )


def classify(exc: BaseException) -> OmnisenseError | None:
    """``mapped_errors`` hook: the gateway error for what an Azure client raised, or None."""
    module = type(exc).__module__
    if module.startswith(("msrest", "azure.cognitiveservices")):
        return _msrest(exc)
    if module.startswith("azure."):
        return _azure_core(exc)
    return by_class(exc, "azure", _other_rules())  # aiohttp (Speech), and JSON the services answered

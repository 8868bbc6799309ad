"""Map what the Azure SDKs (msrest, azure-core), azure-identity and aiohttp raise to the
gateway's error tree (DESIGN §3).

Azure error bodies come in several shapes, all accepted by ``parse_error_body``:

- ``{"error": {"code": "InvalidRequest", "message": ..., "innererror": {"code": "InvalidImageFormat"}}}``
  (Computer Vision v3.2, Language, Content Safety): the innermost code is the precise one;
- ``{"error": {"code": "401", "message": "Access denied due to invalid subscription key ..."}}``
  (the API gateway in front of every service);
- a flat ``{"code": ..., "message": ...}`` or ``{"statusCode": 429, "message": ...}``;
- Translator's ``{"error": {"code": 403001, "message": ...}}``: six digits whose first three
  are the HTTP status;
- an empty or non-JSON body (Speech): the HTTP status decides.

The code decides the class where it is specific (``InvalidImageFormat`` -> 415,
``InvalidImageSize`` -> 413, ``UnsupportedLanguageCode`` -> Unsupported so the next provider
may serve the language); otherwise the HTTP status does (401/403 -> UpstreamAuth, 429 ->
UpstreamThrottled honouring Retry-After, 5xx -> UpstreamUnavailable, 408/504 -> UpstreamTimeout).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.kit import error_for_status, parse_retry_after
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
# Translator codes (status * 1000 + n) that are about the language, not the input.
_TRANSLATOR_UNSUPPORTED = frozenset({400019, 400023, 400035, 400036, 400091})


def parse_error_body(body: Any) -> tuple[str, str]:
    """(code, message) from any Azure error body (bytes, text or parsed JSON); ("", "") if none."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            return "", text[:300]
    if not isinstance(body, Mapping):
        return "", str(body)[:300]
    error = body.get("error")
    node: Mapping[str, Any] = error if isinstance(error, Mapping) else body
    code = str(node.get("code") or node.get("statusCode") or "")
    message = str(node.get("message") or "")
    inner = node.get("innererror") or node.get("innerError")
    while isinstance(inner, Mapping) and inner.get("code"):
        code, message = str(inner["code"]), str(inner.get("message") or message)
        inner = inner.get("innererror") or inner.get("innerError")
    return code, message


def error_for(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, *, provider: str = "azure"
) -> OmnisenseError:
    """The gateway error for an Azure error answer."""
    retry_after = parse_retry_after(_header(headers, "retry-after"))
    if retry_after is None:
        millis = parse_retry_after(_header(headers, "x-ms-retry-after-ms"))
        retry_after = millis / 1000.0 if millis is not None else None
    detail = f"{provider}: {code + ': ' if code else ''}{message or 'HTTP ' + str(status)}"[:500]
    cls = _BY_CODE.get(code)
    if code.isdigit() and len(code) == 6:  # Translator: 403001, 429000 ...
        if int(code) in _TRANSLATOR_UNSUPPORTED:
            cls = Unsupported
        status = status or int(code[:3])
    if cls is not None:
        return cls(detail, retry_after_s=retry_after)
    if not status and code.isdigit() and len(code) == 3:
        status = int(code)
    return error_for_status(
        status or 500, detail.removeprefix(f"{provider}: "), provider=provider, retry_after_s=retry_after
    )


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def from_http(status: int, headers: Mapping[str, str] | None, body: Any) -> OmnisenseError:
    code, message = parse_error_body(body)
    return error_for(status, code, message, headers)


def _msrest(exc: BaseException) -> OmnisenseError | None:
    from msrest import exceptions as mx

    if isinstance(exc, mx.HttpOperationError) and exc.response is not None:
        resp = exc.response
        return from_http(int(resp.status_code), dict(resp.headers), resp.content)
    if isinstance(exc, mx.ClientRequestError):
        inner = getattr(exc, "inner_exception", None)
        text = f"{exc} {inner!r}".lower()
        if "timeout" in text or "timed out" in text:
            return UpstreamTimeout(f"azure: timed out: {exc}")
        return UpstreamUnavailable(f"azure: cannot connect: {exc}")
    if isinstance(exc, mx.DeserializationError):  # type: ignore[attr-defined]
        return UpstreamBadResponse(f"azure: malformed response: {exc}")
    if isinstance(exc, mx.AuthenticationError):
        return UpstreamAuth(f"azure: credentials not usable: {exc}")
    if isinstance(exc, mx.ClientException):
        return UpstreamUnavailable(f"azure: {type(exc).__name__}: {exc}")
    return None


def _azure_core(exc: BaseException) -> OmnisenseError | None:
    from azure.core import exceptions as ax

    if isinstance(exc, ax.HttpResponseError) and exc.response is not None and exc.status_code:
        resp = exc.response
        try:
            body: Any = resp.text()
        except Exception:
            body = str(exc.message or "")
        return from_http(int(exc.status_code), dict(getattr(resp, "headers", {}) or {}), body)
    if isinstance(exc, ax.ClientAuthenticationError):  # azure-identity: no token could be had
        return UpstreamAuth(f"azure: credentials not usable: {exc.message}")
    if isinstance(exc, ax.DecodeError | ax.DeserializationError):
        return UpstreamBadResponse(f"azure: malformed response: {exc}")
    if isinstance(exc, ax.ServiceResponseTimeoutError | ax.ServiceRequestTimeoutError):
        return UpstreamTimeout(f"azure: timed out: {exc.message}")
    if isinstance(exc, ax.ServiceResponseError):
        text = str(exc).lower()
        if "timed out" in text or "timeout" in text:
            return UpstreamTimeout(f"azure: timed out: {exc.message}")
        return UpstreamUnavailable(f"azure: connection broken: {exc.message}")
    if isinstance(exc, ax.ServiceRequestError):
        return UpstreamUnavailable(f"azure: cannot connect: {exc.message}")
    if isinstance(exc, ax.AzureError):
        return UpstreamUnavailable(f"azure: {type(exc).__name__}: {exc.message}")
    return None


def _aiohttp(exc: BaseException) -> OmnisenseError | None:
    import aiohttp

    if isinstance(exc, aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"azure: timed out: {exc}")
    if isinstance(exc, aiohttp.ContentTypeError | aiohttp.ClientPayloadError):
        return UpstreamBadResponse(f"azure: malformed response: {exc}")
    if isinstance(exc, aiohttp.ClientError):
        return UpstreamUnavailable(f"azure: cannot connect: {exc}")
    return None


def classify(exc: BaseException) -> OmnisenseError | None:
    """``mapped_errors`` hook: the gateway error for what an Azure client raised, or None."""
    module = type(exc).__module__
    if module.startswith("msrest") or module.startswith("azure.cognitiveservices"):
        return _msrest(exc)
    if module.startswith("azure."):
        return _azure_core(exc)
    if module.startswith("aiohttp"):
        return _aiohttp(exc)
    if isinstance(exc, json.JSONDecodeError):
        return UpstreamBadResponse(f"azure: malformed response: {exc}")
    return None

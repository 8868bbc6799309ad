"""Map what boto3/botocore raise to the gateway's error tree (DESIGN §3).

AWS services name their errors with a code (``ClientError.response["Error"]["Code"]``,
the ``__type`` of a JSON 1.1 error body without its namespace). The code decides the
class; an unknown code falls back to the HTTP status (``adapters.kit.error_for_status``).
botocore's own exceptions (timeouts, connection failures, missing credentials, bodies it
cannot parse) are mapped by their class. ``classify`` is the ``mapped_errors`` hook.
"""

from __future__ import annotations

from typing import Any

from adapters.kit import error_for_status, parse_retry_after
from omnisense.schema import (
    InvalidInput,
    OmnisenseError,
    PayloadTooLarge,
    UnprocessableInput,
    Unsupported,
    UnsupportedMediaType,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

# AWS error codes -> the gateway's error class; a code not here falls back to the HTTP status.
_CODES: tuple[tuple[type[OmnisenseError], str], ...] = (
    (
        UpstreamThrottled,
        "ThrottlingException Throttling ThrottledException TooManyRequestsException RequestLimitExceeded"
        " ProvisionedThroughputExceededException RequestThrottled RequestThrottledException SlowDown"
        # Rekognition: "a service limit was exceeded" (TPS); Transcribe: too many concurrent jobs.
        " LimitExceededException ServiceQuotaExceededException",
    ),
    (
        UpstreamAuth,
        "AccessDeniedException AccessDenied UnrecognizedClientException InvalidSignatureException"
        " SignatureDoesNotMatch IncompleteSignature MissingAuthenticationToken InvalidClientTokenId"
        " InvalidAccessKeyId ExpiredTokenException ExpiredToken RequestExpired AuthFailure NotAuthorized"
        " UnauthorizedOperation OptInRequired SubscriptionRequiredException",
    ),
    (
        UpstreamUnavailable,
        "InternalServerError InternalServerException InternalFailure InternalError ServiceFailure"
        " ServiceUnavailable ServiceUnavailableException ServiceException ResourceUnavailableException",
    ),
    (UpstreamTimeout, "RequestTimeout RequestTimeoutException"),
    (
        PayloadTooLarge,
        "ImageTooLargeException TextSizeLimitExceededException TextLengthExceededException"
        " DocumentTooLargeException EntityTooLarge",
    ),
    (UnsupportedMediaType, "InvalidImageFormatException UnsupportedDocumentException InvalidSampleRateException"),
    (
        Unsupported,
        "UnsupportedLanguageException UnsupportedLanguagePairException LanguageNotSupportedException"
        " EngineNotSupportedException UnsupportedDisplayLanguageCodeException",
    ),
    (UnprocessableInput, "DetectedLanguageLowConfidenceException HumanLoopQuotaExceededException"),
    (
        InvalidInput,
        "InvalidParameterException InvalidRequestException ValidationException InvalidSsmlException"
        " SsmlMarksNotSupportedForTextTypeException MarksNotSupportedForFormatException BadDocumentException"
        " BadRequestException InvalidS3ObjectException NoSuchKey NoSuchBucket",
    ),
)
BY_CODE: dict[str, type[OmnisenseError]] = {code: cls for cls, codes in _CODES for code in codes.split()}


def error_for_code(code: str, message: str, status: int, headers: dict[str, Any] | None = None) -> OmnisenseError:
    """The gateway error for an AWS error code (falling back to the HTTP status)."""
    code = code.rsplit("#", 1)[-1]  # "com.amazonaws.rekognition#ThrottlingException"
    retry_after = parse_retry_after(str((headers or {}).get("retry-after") or "")) or None
    detail = f"aws: {code}: {message}"[:500]
    cls = BY_CODE.get(code)
    if cls is not None:
        return cls(detail, retry_after_s=retry_after)
    if status == 400 and code.endswith("Exception") and "Throttl" in code:
        return UpstreamThrottled(detail, retry_after_s=retry_after)
    return error_for_status(status or 500, f"{code}: {message}", provider="aws", retry_after_s=retry_after)


def _client_error(exc: Any) -> OmnisenseError:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    status = int(meta.get("HTTPStatusCode") or 0)
    code = str(error.get("Code") or status or "Unknown")
    message = str(error.get("Message") or "")
    if not message and status >= 500:
        message = "server error"
    return error_for_code(code, message, status, meta.get("HTTPHeaders"))


def classify(exc: BaseException) -> OmnisenseError | None:
    """``mapped_errors`` hook: the gateway error for a boto3/botocore exception, or None."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, bx.ClientError):
        return _client_error(exc)
    if isinstance(exc, bx.ReadTimeoutError):
        return UpstreamTimeout(f"aws: read timed out: {exc}")
    if isinstance(exc, bx.ConnectTimeoutError | bx.EndpointConnectionError | bx.ConnectionClosedError):
        return UpstreamUnavailable(f"aws: cannot connect: {exc}")
    if isinstance(exc, bx.HTTPClientError):
        return UpstreamUnavailable(f"aws: HTTP client error: {exc}")
    auth_errors = (
        bx.NoCredentialsError,
        bx.PartialCredentialsError,
        bx.CredentialRetrievalError,
        bx.ProfileNotFound,
        bx.TokenRetrievalError,
        bx.NoRegionError,
    )
    if isinstance(exc, auth_errors):
        return UpstreamAuth(f"aws: credentials or region not usable: {exc}")
    if isinstance(exc, bx.ParamValidationError):
        return InvalidInput(f"aws: the request is not valid for AWS: {exc}")
    if isinstance(exc, ResponseParserError):
        return UpstreamBadResponse(f"aws: malformed response: {exc}")
    if isinstance(exc, bx.BotoCoreError):
        return UpstreamUnavailable(f"aws: {type(exc).__name__}: {exc}")
    return None

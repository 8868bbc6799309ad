"""Map what boto3/botocore raise to the gateway's error tree (DESIGN §3).

AWS services name their errors with a code (``ClientError.response["Error"]["Code"]``,
the ``__type`` of a JSON 1.1 error body without its namespace). The code decides the
class; an unknown code falls back to the HTTP status (``adapters.kit.error_for_status``).
botocore's own exceptions (timeouts, connection failures, missing credentials, bodies it
cannot parse) are mapped by their class. ``classify`` is the ``mapped_errors`` hook.
"""

from __future__ import annotations

import functools
from typing import Any

from adapters.kit.errors import Rule, by_class, coded_error, retry_after
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
        " ServiceUnavailable ServiceUnavailableException ServiceException ResourceUnavailableException"
        # Transcribe streaming: processing stopped; a newer stream took the session id over.
        " InternalFailureException ConflictException",
    ),
    (UpstreamTimeout, "RequestTimeout RequestTimeoutException"),
    (
        PayloadTooLarge,
        "ImageTooLargeException TextSizeLimitExceededException TextLengthExceededException"
        " DocumentTooLargeException EntityTooLarge VideoTooLargeException",
    ),
    (UnsupportedMediaType, "InvalidImageFormatException UnsupportedDocumentException InvalidSampleRateException"),
    (
        Unsupported,
        "UnsupportedLanguageException UnsupportedLanguagePairException LanguageNotSupportedException"
        " EngineNotSupportedException UnsupportedDisplayLanguageCodeException",
    ),
    (UnprocessableInput, "DetectedLanguageLowConfidenceException HumanLoopQuotaExceededException"),
    (UpstreamBadResponse, "SerializationException"),
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
    wait = retry_after(headers) or None
    text = f"{code}: {message}"
    if code not in BY_CODE and status == 400 and code.endswith("Exception") and "Throttl" in code:
        return UpstreamThrottled(f"aws: {text}"[:500], retry_after_s=wait)
    return coded_error("aws", BY_CODE, code, text, status, wait)


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


@functools.cache
def _rules() -> tuple[Rule, ...]:
    """botocore's own exceptions (other than ClientError), most specific first."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    connect_errors = (bx.ConnectTimeoutError, bx.EndpointConnectionError, bx.ConnectionClosedError)
    auth_errors: tuple[type[Exception], ...] = (
        bx.NoCredentialsError,
        bx.PartialCredentialsError,
        bx.CredentialRetrievalError,
    )
    auth_errors += (bx.ProfileNotFound, bx.TokenRetrievalError, bx.NoRegionError)
    return (
        (bx.ReadTimeoutError, UpstreamTimeout, "read timed out"),
        (connect_errors, UpstreamUnavailable, "cannot connect"),
        (bx.HTTPClientError, UpstreamUnavailable, "HTTP client error"),
        (auth_errors, UpstreamAuth, "credentials or region not usable"),
        (bx.ParamValidationError, InvalidInput, "the request is not valid for AWS"),
        (ResponseParserError, UpstreamBadResponse, "malformed response"),
        (bx.BotoCoreError, UpstreamUnavailable, None),
    )


def classify(exc: BaseException) -> OmnisenseError | None:
    """``mapped_errors`` hook: the gateway error for a boto3/botocore exception, or None."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return _client_error(exc)
    return by_class(exc, "aws", _rules())

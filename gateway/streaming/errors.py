"""How a session ends other than well: a close code of ``CLOSE_CODES`` and a reason."""

from __future__ import annotations

from omnisense.schema import (
    BudgetExceeded,
    Forbidden,
    InvalidInput,
    NoProvider,
    OmnisenseError,
    RateLimited,
    Unauthorized,
)

# The close code's HTTP equivalent, for the record's ``http_status`` (what ``/v1/logs`` filters on).
HTTP_OF_CLOSE = {
    1000: 200, 1001: 503, 1003: 415, 1007: 422, 1008: 400, 1009: 413, 1011: 500,
    4001: 401, 4002: 429, 4003: 403, 4008: 408, 4009: 413, 4013: 429, 4029: 429, 4503: 503,
}  # fmt: skip
CLIENT_GONE = 499  # the client closed or dropped the connection before ``end``


class SessionClosed(Exception):
    """Ends the session with ``code`` (RFC 6455 or ``CLOSE_CODES``) and ``reason`` (sent to the client)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]  # a close frame's reason is at most 123 bytes


class ClientGone(Exception):
    """The client's connection closed before the session ended."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"the client went away (close code {code})")
        self.code = code


def closed_by(exc: OmnisenseError) -> SessionClosed:
    """The close code for an error raised while authorizing or routing a session."""
    if isinstance(exc, Unauthorized):
        code = 4001
    elif isinstance(exc, Forbidden):
        code = 4003
    elif isinstance(exc, RateLimited):
        code = 4029
    elif isinstance(exc, BudgetExceeded):
        code = 4002
    elif isinstance(exc, NoProvider):
        code = 4503
    elif isinstance(exc, InvalidInput):
        code = 1007
    else:
        code = 1011
    return SessionClosed(code, exc.detail if code != 1011 else "internal error")

"""Job webhooks: how the gateway signs them and how a receiver checks them.

The gateway POSTs the finished job as JSON with two headers:

- ``Omnisense-Timestamp``: the unix time of the delivery attempt (seconds);
- ``Omnisense-Signature``: ``v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``.

A receiver recomputes the HMAC over the raw body with the secret of the API key that
submitted the job, compares in constant time, and refuses a timestamp outside its replay
window (``tolerance_s``, 5 minutes by default) so that a captured delivery cannot be
replayed later. Each retry is signed afresh with its own timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "Omnisense-Timestamp"
SIGNATURE_HEADER = "Omnisense-Signature"
JOB_HEADER = "Omnisense-Job-Id"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Omnisense-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, body, timestamp)}


class WebhookVerificationError(ValueError):
    """The delivery is not signed with the secret, or is outside the replay window."""


def verify(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, *, tolerance_s: float = 300.0,
    now: float | None = None,
) -> None:  # fmt: skip
    """Raise ``WebhookVerificationError`` unless ``body`` carries a fresh, valid signature."""
    if not timestamp or not signature:
        raise WebhookVerificationError("missing Omnisense-Timestamp or Omnisense-Signature")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("Omnisense-Timestamp is not an integer") from None
    current = now if now is not None else time.time()
    if abs(current - sent) > tolerance_s:
        raise WebhookVerificationError(f"the delivery is {current - sent:.0f} s old; the window is {tolerance_s:.0f} s")
    if not hmac.compare_digest(sign(secret, body, sent), signature.strip()):
        raise WebhookVerificationError("the signature does not match the body")

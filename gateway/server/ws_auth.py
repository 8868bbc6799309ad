"""A browser's key on a WebSocket: the subprotocol ``bearer.<base64url of the key>``.

A browser's ``WebSocket`` cannot send an ``Authorization`` header, only subprotocols; the
dashboard's live microphone (``gateway/server/dashboard/static/live.js``) offers
``["omnisense", "bearer.<key as unpadded base64url>"]`` (base64url: a key may hold characters a
subprotocol token may not). The gateway then accepts with ``omnisense`` and reads the key as if
it had come as ``Authorization: Bearer <key>`` (a real Authorization header wins). The key is
checked like any other; like a header, it is never logged.
"""

from __future__ import annotations

import base64
import binascii

SUBPROTOCOL = "omnisense"
PREFIX = "bearer."


def browser_key(headers: dict[str, str]) -> str | None:
    """The subprotocol to accept (None: the client offered none of ours). A ``bearer.`` key the
    client offered is put into ``headers`` as ``authorization`` when none came."""
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    if SUBPROTOCOL not in offered:
        return None
    for protocol in offered:
        if protocol.startswith(PREFIX) and "authorization" not in headers:
            encoded = protocol[len(PREFIX) :]
            try:
                raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True)
                key = raw.decode("utf-8")
            except (binascii.Error, ValueError):
                continue
            if not key:
                continue  # not a key: the session is then refused as keyless (4001) where keys are needed
            headers["authorization"] = f"Bearer {key}"
    return SUBPROTOCOL

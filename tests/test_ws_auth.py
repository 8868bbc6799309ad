"""A browser's key on a WebSocket, as the subprotocol ``bearer.<base64url>`` (gateway.server.ws_auth)."""

from __future__ import annotations

import base64

from gateway.server.ws_auth import browser_key


def offer(*protocols: str) -> dict[str, str]:
    return {"sec-websocket-protocol": ", ".join(protocols)}


def test_the_key_is_read_from_the_subprotocol() -> None:
    key = "secret/+= with spaces"
    encoded = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    headers = offer("omnisense", f"bearer.{encoded}")
    assert browser_key(headers) == "omnisense"
    assert headers["authorization"] == f"Bearer {key}"


def test_a_real_authorization_header_wins() -> None:
    headers = {**offer("omnisense", "bearer.b3RoZXI"), "authorization": "Bearer mine"}
    assert browser_key(headers) == "omnisense" and headers["authorization"] == "Bearer mine"


def test_without_our_subprotocol_nothing_is_read_or_accepted() -> None:
    headers = offer("bearer.b3RoZXI")
    assert browser_key(headers) is None and "authorization" not in headers
    assert browser_key({}) is None


def test_a_key_that_is_not_base64url_is_ignored() -> None:
    headers = offer("omnisense", "bearer.!!!")
    assert browser_key(headers) == "omnisense" and "authorization" not in headers

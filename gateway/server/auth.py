"""API keys: callers send ``Authorization: Bearer <key>``; the config holds SHA-256 digests."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from gateway.schema import Forbidden, Unauthorized
from gateway.server.config import ApiKey, GatewayConfig, hash_key


class KeyRing:
    def __init__(self, config: GatewayConfig) -> None:
        self.protected = config.protected
        self._by_digest = {k.sha256.lower(): k for k in config.keys}

    def authenticate(self, headers: Mapping[str, str]) -> ApiKey | None:
        """The caller's key, ``None`` on an open gateway; raises Unauthorized otherwise."""
        if not self.protected:
            return None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("this gateway needs an API key: send 'Authorization: Bearer <key>'")
        digest = hash_key(token.strip())
        for known, key in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return key
        raise Unauthorized("the API key is not valid")

    @staticmethod
    def check_hints(key: ApiKey | None, provider: str | None, policy: str | None) -> None:
        """Routing hints are allowed only where the caller's key permits them."""
        if key is None:
            return
        if provider is not None and key.providers is not None and provider not in key.providers:
            raise Forbidden(f"key {key.id!r} may not pin provider {provider!r}")
        if policy is not None and key.policies is not None and policy not in key.policies:
            raise Forbidden(f"key {key.id!r} may not choose policy {policy!r}")

    @staticmethod
    def require_admin(key: ApiKey | None, protected: bool) -> None:
        if protected and (key is None or not key.admin):
            raise Forbidden("this endpoint needs an admin key")

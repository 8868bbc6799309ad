"""The HTTP server: a litestar app built by ``create_app(config)``."""

from gateway.server.app import create_app
from gateway.server.config import GatewayConfig

__all__ = ["GatewayConfig", "create_app"]

"""The ASGI entry point for servers that import an app factory by name.

``omnisense serve`` passes its options through the environment so that every worker
process builds the same app: ``OMNISENSE_CONFIG`` (a YAML file) and ``OMNISENSE_POLICY``.
"""

from __future__ import annotations

import os

from litestar import Litestar

from gateway.server import create_app
from gateway.server.config import load_config


def app_from_env() -> Litestar:
    return create_app(load_config(os.environ.get("OMNISENSE_CONFIG")), tune_gc=True)

"""The OpenAI dialect: ``/v1/audio/*``, ``/v1/moderations`` and ``/v1/models`` as the
official ``openai`` SDK calls them, served by the native request path
(``gateway.server.tasks.serve_task``) with keys, scopes, rate limits, budgets, routing,
the cache and one log record per call (its decisions note ``dialect: openai``).
"""

from __future__ import annotations

from gateway.server.openai.routes import openai_handlers

__all__ = ["openai_handlers"]

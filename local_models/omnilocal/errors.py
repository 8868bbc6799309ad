"""Errors of the local model server and how they cross service boundaries.

Inside a family service a model raises :class:`ModelInputError`. The family's
API boundary (:func:`guarded`) turns it into a plain ``{"__error__": {...}}``
dict, because BentoML's inter-service client flattens exceptions into text.
The entry service turns that dict into an HTTP 400 with the body
``{"error": "invalid_input" | "unsupported", "detail": "..."}``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Literal, ParamSpec

ErrorCode = Literal["invalid_input", "unsupported", "timeout"]
ERROR_KEY = "__error__"

logger = logging.getLogger("omnilocal")
P = ParamSpec("P")


class ModelInputError(Exception):
    """The caller's input cannot be served: bad input or an unsupported option."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code: ErrorCode = code
        self.detail = detail


def invalid(detail: str) -> ModelInputError:
    return ModelInputError("invalid_input", detail)


def unsupported(detail: str) -> ModelInputError:
    return ModelInputError("unsupported", detail)


def error_payload(exc: ModelInputError) -> dict[str, Any]:
    return {ERROR_KEY: {"error": exc.code, "detail": exc.detail}}


def guarded(func: Callable[P, dict[str, Any]]) -> Callable[P, dict[str, Any]]:
    """Return a ModelInputError as an error payload instead of raising it.

    A ``deadline`` argument (``time.time()`` by which the caller stops waiting) bounds
    the call: past it before the call starts (it waited in the queue), the model is
    not run at all; during the call, models check it between chunks of work.
    """
    from .budget import check_deadline, set_deadline

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        deadline = kwargs.get("deadline")
        set_deadline(deadline if isinstance(deadline, int | float) else None)
        try:
            check_deadline("the request, still queued,")
            return func(*args, **kwargs)
        except ModelInputError as exc:
            return error_payload(exc)
        finally:
            set_deadline(None)

    return wrapper


def as_error(result: dict[str, Any]) -> dict[str, str] | None:
    """The {"error", "detail"} body carried by a family result, or None."""
    err = result.get(ERROR_KEY) if isinstance(result, dict) else None
    return err if isinstance(err, dict) else None

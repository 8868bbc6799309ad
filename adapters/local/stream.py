"""Reading the model server's streamed synthesis (``POST /speech/synthesize_stream``).

Its body is NDJSON (``local_models/omnilocal/speech_stream.py``): ``{"audio": base64}``
lines in order, then ``{"done": true, ...}`` for a complete stream or ``{"error": ...}``
for a failed one. A body that ends with neither was cut off: ``UpstreamBadResponse``.
Lines are split here rather than by aiohttp's line reader, whose 64 KiB line limit a
sentence of audio passes.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import msgspec

from omnisense.schema import (
    InvalidInput,
    OmnisenseError,
    Unsupported,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
)

PATH = "/speech/synthesize_stream"


class _Line(msgspec.Struct):
    audio: str | None = None
    done: bool = False
    error: str | None = None
    detail: str = ""


_decode = msgspec.json.Decoder(_Line).decode


def line_error(name: str, code: str, detail: str) -> OmnisenseError:
    """The gateway's error for a stream's error line."""
    message = f"{name}: {detail}"
    if code == "unsupported":
        return Unsupported(message)
    if code == "invalid_input":
        return InvalidInput(message)
    if code == "overloaded":
        return UpstreamThrottled(f"{name}: model server overloaded", retry_after_s=1.0)
    if code == "timeout":
        return UpstreamTimeout(message)
    return UpstreamBadResponse(f"{name}: the stream failed ({code}): {detail}")


async def audio_of(name: str, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The audio of a 200 answer, a line at a time, until its last line."""
    pending = b""
    async for data in response.content.iter_any():
        pending += data
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            if not raw.strip():
                continue
            line = _decode(raw)
            if line.error is not None:
                raise line_error(name, line.error, line.detail)
            if line.done:
                return
            if line.audio:
                yield base64.b64decode(line.audio)
    raise UpstreamBadResponse(f"{name}: the model server's stream ended before its last line (cut off)")

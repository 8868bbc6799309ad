"""``WS /v1/speech/transcribe/stream`` in the OpenAPI document. OpenAPI has no WebSocket
operations, so the session is told in the document's description (built from the contract:
``omnisense.schema.streaming``) and its messages are schemas under ``components``."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.streaming.settings import StreamSettings
from omnisense.schema.streaming import CLOSE_CODES, StreamDone, StreamEnd, StreamError, StreamEvent, StreamStart

LIVE_TYPES: list[Any] = [StreamStart, StreamEnd, StreamEvent, StreamDone, StreamError]


def live_description() -> str:
    limits = StreamSettings()
    codes = "\n".join(f"| {code} | {text} |" for code, text in sorted(CLOSE_CODES.items()))
    return f"""
## Live transcription: `WS /v1/speech/transcribe/stream`

A WebSocket session (see docs/streaming.md). Authenticate as for REST (`Authorization: Bearer <key>`,
a key whose scopes include `speech.transcribe`; from a browser: subprotocols `["bearer", key]`);
`X-Omnisense-Provider` / `X-Omnisense-Policy` pin a
provider / choose a policy as for REST. Then:

1. the client sends one text frame, the start message (`StreamStart`):
   `{{"type": "start", "encoding": "pcm_s16le" | "wav", "sample_rate": 16000, "language": "en", "interim": true}}`;
2. binary frames of audio: 16-bit little-endian mono PCM, or a WAV stream (its header in the first frames);
3. the text frame `{{"type": "end"}}` (`StreamEnd`).

The gateway sends `partial` and `final` events (`StreamEvent`: text, start_s/end_s on the session's time line,
the provider), then `done` (`StreamDone`: usage in audio seconds, cost, the providers used, failovers) and
closes with 1000. Any other end sends `error` (`StreamError`) with the close code and reason, then closes.
Cost accrues per second of audio under the key's budget; a failover replays the audio since the last final
to the next streaming candidate of the route.

Default limits: {limits.max_frame_bytes} bytes a frame, {limits.idle_s:g} s idle, {limits.max_session_s:g} s of
audio a session, {limits.buffer_s:g} s of audio buffered (a frame waits {limits.backpressure_s:g} s for room).

| close code | meaning |
|---|---|
{codes}
"""


def live_components() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(LIVE_TYPES, ref_template="#/components/schemas/{name}")
    return components

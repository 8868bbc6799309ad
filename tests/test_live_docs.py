"""docs/streaming.md and the OpenAPI document tell the live session as the contract has it."""

from __future__ import annotations

from pathlib import Path

from gateway.server.openapi import openapi_document
from omnisense.schema.streaming import CLOSE_CODES

DOC = Path(__file__).parent.parent / "docs" / "streaming.md"


def test_every_close_code_is_documented_in_both_places() -> None:
    text = DOC.read_text()
    document = openapi_document()
    description = document["info"]["description"]
    assert "/v1/speech/transcribe/stream" in description
    for code in CLOSE_CODES:
        assert f"| {code} |" in text, code
        assert f"| {code} |" in description, code
    assert {"StreamStart", "StreamEvent", "StreamDone", "StreamError"} <= set(document["components"]["schemas"])

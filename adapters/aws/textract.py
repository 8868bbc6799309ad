"""Amazon Textract: vision.ocr for documents (``ImageRequest.document``), ``DetectDocumentText``.

Textract reads dense documents better than Rekognition's scene-text ``DetectText`` (which
returns at most 100 words). It answers ``Blocks`` of type PAGE, LINE and WORD; the
result's lines are the LINE blocks in reading order, with confidences divided by 100
and ratio boxes clipped into the page.

Billing: Textract bills per page at its own rate (``textract_page`` in prices.yaml), not at
Rekognition's per-image price for vision.ocr, so the result carries its own ``cost_usd``.
"""

from __future__ import annotations

from typing import Any

from adapters.aws.clients import AwsClients
from adapters.aws.common import box, confidence, image_param, image_size, raw
from adapters.aws.prices import textract_page_price
from adapters.base import CallContext, ProviderResult
from adapters.kit import parsed
from omnisense.schema import ImageRequest, OcrLine, OcrResult, Task

MODEL = "textract"
FORMATS = frozenset({"jpeg", "png", "tiff", "pdf"})


def to_vendor(request: ImageRequest) -> dict[str, Any]:
    return {"Document": image_param(request.image, formats=FORMATS)}


def from_vendor(response: dict[str, Any], request: ImageRequest) -> OcrResult:
    lines = []
    for block in response["Blocks"]:
        if block.get("BlockType") != "LINE" or not block.get("Text"):
            continue
        geometry = block.get("Geometry") or {}
        line = OcrLine(
            str(block["Text"]),
            None if block.get("Confidence") is None else confidence(block["Confidence"]),
            box(geometry["BoundingBox"]) if "BoundingBox" in geometry else None,
        )
        lines.append(line)
    return OcrResult(text="\n".join(line.text for line in lines), lines=lines, image=image_size(request.image))


async def run(aws: AwsClients, task: Task, request: ImageRequest, ctx: CallContext) -> ProviderResult:
    response = await aws.call("textract", "detect_document_text", to_vendor(request), ctx)
    result = parsed(aws.name, lambda: from_vendor(response, request))
    pages = sum(1 for b in response["Blocks"] if b.get("BlockType") == "PAGE") or 1
    cost = textract_page_price().cost(pages)
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw), cost_usd=cost)

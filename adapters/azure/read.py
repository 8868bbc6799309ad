"""Azure AI Vision Read API (v3.2): vision.ocr.

1. ``POST /vision/v3.2/read/analyze`` (``read_in_stream``) answers 202 with an
   ``Operation-Location`` header whose last path segment is the operation id;
2. ``GET /vision/v3.2/read/analyzeResults/{id}`` (``get_read_result``) is polled with backoff
   (``read_poll_s`` growing x1.5 up to ``read_poll_max_s``), never past the request's
   deadline: an operation still ``notStarted``/``running`` then is ``UpstreamTimeout``;
   ``failed`` is ``UnprocessableInput`` (Azure could not read the image).

Lines of every page are returned in order. A line's ``boundingBox`` is 8 numbers (the four
corners x1,y1 ... x4,y4, clockwise from top-left, possibly rotated) in the page's ``unit``
(pixels for images, inches for PDF pages); the box is the upright rectangle around them as
fractions of the page's ``width``/``height``, clipped to the page. Read gives confidences per
word only: a line's confidence is the mean of its words' (null for a line without words).
A language hint is passed on as Read's ``language`` (its primary subtag; ``zh`` as
``zh-Hans``); none means Read's own detection.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

from adapters.azure.clients import AzureClients
from adapters.azure.common import READ_FORMATS, READ_MAX_BYTES, check_image, raw
from adapters.base import CallContext, ProviderResult
from adapters.kit import box_from_corners, mean, optional_unit, parsed, request_primary, unit
from omnisense.schema import (
    Box,
    ImageRequest,
    ImageSize,
    OcrLine,
    OcrResult,
    Task,
    UnprocessableInput,
    UpstreamBadResponse,
    UpstreamTimeout,
)

MODEL = "azure-read-3.2"
PENDING = frozenset({"notStarted", "running"})
READ_LANGUAGES = {"zh": "zh-Hans", "sr": "sr-Latn"}  # Read's codes where a bare language is not one


def to_vendor(request: ImageRequest) -> dict[str, Any]:
    check_image(request.image, READ_FORMATS, READ_MAX_BYTES, "azure read")
    params: dict[str, Any] = {}
    if request.language:
        lang = request_primary(request.language, "en")
        params["language"] = READ_LANGUAGES.get(lang, lang)
    return params


def operation_id(location: str | None) -> str:
    if not location:
        raise UpstreamBadResponse("azure read answered 202 without an Operation-Location")
    return location.rstrip("/").rsplit("/", 1)[-1]


def line_box(line: dict[str, Any], page: dict[str, Any]) -> Box | None:
    coords = [float(v) for v in line.get("boundingBox") or ()]
    width, height = float(page.get("width") or 0), float(page.get("height") or 0)
    if len(coords) != 8 or width <= 0 or height <= 0:
        return None
    corners = [(coords[i] / width, coords[i + 1] / height) for i in range(0, 8, 2)]
    return box_from_corners(corners)


def line_confidence(line: dict[str, Any]) -> float | None:
    found = mean(optional_unit(w.get("confidence")) for w in line.get("words") or ())
    return None if found is None else unit(found)


def from_vendor(response: dict[str, Any], request: ImageRequest) -> OcrResult:
    """The result of a ``succeeded`` read operation."""
    pages = response["analyzeResult"]["readResults"]
    lines = [
        OcrLine(str(line["text"]), line_confidence(line), line_box(line, page))
        for page in pages
        for line in page.get("lines") or ()
    ]
    image = None
    if pages and pages[0].get("unit", "pixel") == "pixel" and pages[0].get("width") and pages[0].get("height"):
        image = ImageSize(int(pages[0]["width"]), int(pages[0]["height"]))
    elif request.image.width and request.image.height:
        image = ImageSize(request.image.width, request.image.height)
    return OcrResult(text="\n".join(line.text for line in lines), lines=lines, image=image)


async def submit(azure: AzureClients, request: ImageRequest, ctx: CallContext) -> str:
    params = to_vendor(request)
    connect, read = azure.timeouts(ctx)

    def invoke() -> str | None:
        out = azure.client("vision").read_in_stream(
            io.BytesIO(request.image.data), raw=True, timeout=(connect, read), **params
        )
        location = out.headers.get("Operation-Location") or out.response.headers.get("Operation-Location")
        return str(location) if location else None

    return operation_id(await azure.run(invoke, ctx=ctx))


async def wait(azure: AzureClients, op: str, ctx: CallContext) -> dict[str, Any]:
    """Poll the operation until it is done (returned) or failed, within the deadline."""
    delay = azure.config.read_poll_s

    def get() -> dict[str, Any]:
        connect, read = azure.timeouts(ctx)
        out = azure.client("vision").get_read_result(op, raw=True, timeout=(connect, read))
        body: dict[str, Any] = out.response.json()
        return body

    while True:
        response = await azure.run(get, ctx=ctx)
        status = str(response.get("status")) if isinstance(response, dict) else None
        if status == "succeeded":
            return response
        if status == "failed":
            raise UnprocessableInput("azure read could not read the image (operation failed)", field="image")
        if status not in PENDING:
            raise UpstreamBadResponse(f"azure read: unknown operation status {status!r}")
        if ctx.remaining_s() <= delay:
            raise UpstreamTimeout(f"{azure.name}: read operation {op} still {status} at the deadline")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, azure.config.read_poll_max_s)


async def run(azure: AzureClients, task: Task, request: ImageRequest, ctx: CallContext) -> ProviderResult:
    op = await submit(azure, request, ctx)
    response = await wait(azure, op, ctx)
    result = parsed(azure.name, lambda: from_vendor(response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))

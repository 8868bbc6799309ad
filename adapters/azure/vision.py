"""Azure AI Vision (Computer Vision v3.2 ``analyze``): vision.labels, vision.objects,
vision.faces and vision.moderation, one ``visualFeatures`` per task.

- labels: ``Tags`` -> ``tags[{name, confidence}]`` (0-1 already), best first.
- objects: ``Objects`` -> pixel ``rectangle {x, y, w, h}`` turned into fractions of the
  image size Azure reports in ``metadata {width, height}`` (the sniffed size otherwise).
- faces: ``Faces`` -> ``faceRectangle {left, top, width, height}`` in pixels. v3.2 gives
  no face confidence (only age/gender, which are not returned): each detected face has
  confidence null, and no landmarks.
- moderation: ``Adult`` -> ``adultScore``, ``racyScore``, ``goreScore`` (0-1) and the
  booleans ``isAdultContent``/``isRacyContent``/``isGoryContent``. A flag (category
  ``adult``, ``racy`` or ``gore``, confidence = the score) is returned when Azure's boolean
  is set or the score reaches the request's ``min_confidence`` (0.5 when it names none;
  0 returns all three).
"""

from __future__ import annotations

import io
from typing import Any

from adapters.azure.clients import AzureClients
from adapters.azure.common import VISION_FORMATS, VISION_MAX_BYTES, analyzed_size, check_image, raw
from adapters.base import CallContext, ProviderResult
from adapters.kit import box_from_pixels, parsed, unit
from omnisense.schema import (
    DetectedObject,
    Face,
    FacesResult,
    ImageRequest,
    ImageSize,
    Label,
    LabelsResult,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    Task,
    TaskResult,
    UpstreamBadResponse,
)
from omnisense.schema.results import by_confidence

MODEL = "azure-vision-3.2"
TASKS = frozenset({Task.VISION_LABELS, Task.VISION_OBJECTS, Task.VISION_FACES, Task.VISION_MODERATION})
FEATURES = {
    Task.VISION_LABELS: "Tags",
    Task.VISION_OBJECTS: "Objects",
    Task.VISION_FACES: "Faces",
    Task.VISION_MODERATION: "Adult",
}
MODERATION = (
    ("adult", "adultScore", "isAdultContent"),
    ("racy", "racyScore", "isRacyContent"),
    ("gore", "goreScore", "isGoryContent"),
)
DEFAULT_MODERATION_THRESHOLD = 0.5


def to_vendor(task: Task, request: ImageRequest) -> dict[str, Any]:
    """The keyword arguments of ``analyze_image_in_stream`` (besides the stream)."""
    check_image(request.image, VISION_FORMATS, VISION_MAX_BYTES, "azure vision")
    return {"visual_features": [FEATURES[task]], "language": "en"}


def from_vendor(task: Task, response: dict[str, Any], request: ImageRequest) -> TaskResult:
    size = analyzed_size(response, request.image)
    if task is Task.VISION_LABELS:
        return labels_result(response, request, size)
    if size is None:
        raise UpstreamBadResponse("azure vision answered no image size (metadata) to scale boxes by")
    if task is Task.VISION_OBJECTS:
        return objects_result(response, request, size)
    if task is Task.VISION_FACES:
        return faces_result(response, request, size)
    return moderation_result(response, request, size)


def labels_result(response: dict[str, Any], request: ImageRequest, size: ImageSize | None) -> LabelsResult:
    labels = [Label(str(t["name"]), unit(t["confidence"])) for t in response["tags"]]
    labels.sort(key=by_confidence)
    return LabelsResult(labels=labels[: request.max_results], image=size)


def objects_result(response: dict[str, Any], request: ImageRequest, size: ImageSize) -> ObjectsResult:
    objects = []
    for item in response["objects"]:
        r = item["rectangle"]
        box = box_from_pixels(r["x"], r["y"], r["w"], r["h"], size)
        objects.append(DetectedObject(str(item["object"]), unit(item["confidence"]), box))
    objects.sort(key=by_confidence)
    return ObjectsResult(objects=objects[: request.max_results], image=size)


def faces_result(response: dict[str, Any], request: ImageRequest, size: ImageSize) -> FacesResult:
    faces = []
    for item in response["faces"]:
        r = item["faceRectangle"]
        faces.append(Face(None, box_from_pixels(r["left"], r["top"], r["width"], r["height"], size)))
    return FacesResult(faces=faces[: request.max_results], image=size)


def moderation_result(response: dict[str, Any], request: ImageRequest, size: ImageSize | None) -> ModerationResult:
    adult = response["adult"]
    threshold = DEFAULT_MODERATION_THRESHOLD if request.min_confidence is None else request.min_confidence
    flags = []
    for category, score_key, flag_key in MODERATION:
        score = unit(adult[score_key])
        if adult.get(flag_key) or score >= threshold:
            flags.append(ModerationFlag(category, score))
    flags.sort(key=by_confidence)
    return ModerationResult(flags=flags[: request.max_results], image=size)


async def run(azure: AzureClients, task: Task, request: ImageRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(task, request)
    connect, read = azure.timeouts(ctx)

    def invoke() -> dict[str, Any]:
        client = azure.client("vision")
        out = client.analyze_image_in_stream(
            io.BytesIO(request.image.data), raw=True, timeout=(connect, read), **params
        )
        body: dict[str, Any] = out.response.json()
        return body

    response = await azure.run(invoke, ctx=ctx)
    result = parsed(azure.name, lambda: from_vendor(task, response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))

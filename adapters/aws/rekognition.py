"""Amazon Rekognition: vision.labels, vision.objects, vision.faces, vision.ocr, vision.moderation.

- labels/objects: ``DetectLabels`` (objects are the labels' ``Instances``, which carry boxes);
- faces: ``DetectFaces`` with the DEFAULT attributes (box, confidence, landmarks);
- ocr: ``DetectText`` (scene text; ``ImageRequest.document`` goes to Textract instead);
- moderation: ``DetectModerationLabels``.

Confidences are 0-100 and divided; boxes and landmarks are ratios already and are clipped
into the image (Rekognition reports faces partly outside the frame with negative offsets).
``min_confidence`` is passed on when set, 0 included (the kit drops what is under it from
every provider's result); when not given Rekognition's own defaults apply (55 for labels,
50 for moderation). OCR returns every LINE: ``max_results`` would cut text.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.aws.clients import AwsClients
from adapters.aws.common import box, confidence, image_param, image_size, raw, unit
from adapters.base import CallContext, ProviderResult
from adapters.kit import parsed
from omnisense.schema import (
    DetectedObject,
    Face,
    FacesResult,
    ImageRequest,
    Label,
    LabelsResult,
    Landmark,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    OcrLine,
    OcrResult,
    Task,
    TaskResult,
)
from omnisense.schema.results import by_confidence

MODEL = "rekognition"
TASKS = frozenset({Task.VISION_LABELS, Task.VISION_OBJECTS, Task.VISION_FACES, Task.VISION_OCR, Task.VISION_MODERATION})
OPERATIONS = {
    Task.VISION_LABELS: "detect_labels",
    Task.VISION_OBJECTS: "detect_labels",
    Task.VISION_FACES: "detect_faces",
    Task.VISION_OCR: "detect_text",
    Task.VISION_MODERATION: "detect_moderation_labels",
}
# Rekognition landmark types (eyeLeft, mouthRight, upperJawlineLeft ...) -> snake_case names.
_LANDMARKS = {"eyeLeft": "left_eye", "eyeRight": "right_eye", "mouthLeft": "mouth_left", "mouthRight": "mouth_right"}


def to_vendor(task: Task, request: ImageRequest) -> dict[str, Any]:
    """The parameters of the Rekognition call for ``task``."""
    params: dict[str, Any] = {"Image": image_param(request.image)}
    min_conf = None if request.min_confidence is None else request.min_confidence * 100.0
    if task is Task.VISION_LABELS:
        params["MaxLabels"] = request.max_results
    if task in (Task.VISION_LABELS, Task.VISION_OBJECTS, Task.VISION_MODERATION) and min_conf is not None:
        params["MinConfidence"] = min_conf
    if task is Task.VISION_FACES:
        params["Attributes"] = ["DEFAULT"]
    if task is Task.VISION_OCR and min_conf is not None:
        params["Filters"] = {"WordFilter": {"MinConfidence": min_conf}}
    return params


def from_vendor(task: Task, response: dict[str, Any], request: ImageRequest) -> TaskResult:
    """The normalized result of ``task`` from Rekognition's answer."""
    if task is Task.VISION_LABELS:
        return labels_result(response, request)
    if task is Task.VISION_OBJECTS:
        return objects_result(response, request)
    if task is Task.VISION_FACES:
        return faces_result(response, request)
    if task is Task.VISION_OCR:
        return ocr_result(response, request)
    return moderation_result(response, request)


def labels_result(response: dict[str, Any], request: ImageRequest) -> LabelsResult:
    labels = [Label(str(item["Name"]), confidence(item["Confidence"])) for item in response["Labels"]]
    labels = sorted(labels, key=by_confidence)
    return LabelsResult(labels=labels[: request.max_results], image=image_size(request.image))


def objects_result(response: dict[str, Any], request: ImageRequest) -> ObjectsResult:
    objects = [
        DetectedObject(str(label["Name"]), confidence(inst["Confidence"]), box(inst["BoundingBox"]))
        for label in response["Labels"]
        for inst in label.get("Instances") or ()
    ]
    objects = sorted(objects, key=by_confidence)
    return ObjectsResult(objects=objects[: request.max_results], image=image_size(request.image))


def _landmark_name(vendor: str) -> str:
    return _LANDMARKS.get(vendor) or re.sub(r"(?<!^)(?=[A-Z])", "_", vendor).lower()


def faces_result(response: dict[str, Any], request: ImageRequest) -> FacesResult:
    faces = []
    for detail in response["FaceDetails"]:
        marks = [
            Landmark(_landmark_name(str(m["Type"])), unit(m["X"]), unit(m["Y"])) for m in detail.get("Landmarks") or ()
        ]
        faces.append(Face(confidence(detail["Confidence"]), box(detail["BoundingBox"]), marks or None))
    return FacesResult(faces=faces[: request.max_results], image=image_size(request.image))


def ocr_result(response: dict[str, Any], request: ImageRequest) -> OcrResult:
    lines = [
        OcrLine(str(d["DetectedText"]), confidence(d["Confidence"]), box(d["Geometry"]["BoundingBox"]))
        for d in response["TextDetections"]
        if d.get("Type") == "LINE"
    ]
    return OcrResult(text="\n".join(line.text for line in lines), lines=lines, image=image_size(request.image))


def moderation_result(response: dict[str, Any], request: ImageRequest) -> ModerationResult:
    flags = [ModerationFlag(str(m["Name"]), confidence(m["Confidence"])) for m in response["ModerationLabels"]]
    flags = sorted(flags, key=by_confidence)
    return ModerationResult(flags=flags[: request.max_results], image=image_size(request.image))


async def run(aws: AwsClients, task: Task, request: ImageRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(task, request)
    response = await aws.call("rekognition", OPERATIONS[task], params, ctx)
    result = parsed(aws.name, lambda: from_vendor(task, response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))

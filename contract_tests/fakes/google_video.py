"""Video Intelligence on the Google fake: ``POST /v1/videos:annotate`` and its long-running operation.

As documented: ``videos:annotate`` answers an Operation ``{"name":
"projects/P/locations/L/operations/ID"}`` at once; ``GET /v1/{name}`` answers it again with
``"done": false`` and ``metadata`` (``AnnotateVideoProgress``) until the work is done, then
``"done": true`` and ``response`` (``@type`` ``...AnnotateVideoResponse``) with one
``annotationResults`` entry per video, holding only the features asked for. A failed
annotation is ``"done": true`` with ``error {code, message}`` instead.

The annotations follow the shapes of the reference pages' samples: label annotations with an
``entity {entityId, description, languageCode}``, ``categoryEntities`` and ``segments[{segment
{startTimeOffset, endTimeOffset}, confidence}]``; ``shotAnnotations`` as video segments;
``explicitAnnotation.frames[{timeOffset, pornographyLikelihood}]`` with likelihood names;
durations as strings (``"14.833664s"``, ``"0s"``). The values are ours, in those shapes
(a 14.83 s clip of a cat, three shots); every clip is answered with them (the fake does not
look at the video).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from contract_tests.fakes.scripted import Recorded, Reply

ANNOTATE_VIDEO = r"/v1/videos:annotate"
OPERATION = r"/v1/projects/[^/]+/locations/[^/]+/operations/[^/:]+"
POLLS_UNTIL_DONE = 1  # "done": false this many times, then the result

SEGMENT_LABELS = [
    {
        "entity": {"entityId": "/m/01yrx", "description": "cat", "languageCode": "en-US"},
        "categoryEntities": [{"entityId": "/m/068hy", "description": "pet", "languageCode": "en-US"}],
        "segments": [{"segment": {"startTimeOffset": "0s", "endTimeOffset": "14.833664s"}, "confidence": 0.98509187}],
    },
    {
        "entity": {"entityId": "/m/068hy", "description": "pet", "languageCode": "en-US"},
        "segments": [{"segment": {"startTimeOffset": "0s", "endTimeOffset": "14.833664s"}, "confidence": 0.90963}],
    },
]
SHOT_LABELS = [
    {
        "entity": {"entityId": "/m/0jbk", "description": "animal", "languageCode": "en-US"},
        "segments": [
            {"segment": {"startTimeOffset": "0s", "endTimeOffset": "5.166666s"}, "confidence": 0.876},
            {"segment": {"startTimeOffset": "10.1s", "endTimeOffset": "14.833664s"}, "confidence": 0.66},
        ],
    }
]
SHOTS = [
    {"startTimeOffset": "0s", "endTimeOffset": "5.166666s"},
    {"startTimeOffset": "5.233333s", "endTimeOffset": "10.066666s"},
    {"startTimeOffset": "10.1s", "endTimeOffset": "14.833664s"},
]
EXPLICIT_FRAMES = [
    {"timeOffset": "0.056149s", "pornographyLikelihood": "VERY_UNLIKELY"},
    {"timeOffset": "1.166841s", "pornographyLikelihood": "VERY_UNLIKELY"},
    {"timeOffset": "2.107224s", "pornographyLikelihood": "UNLIKELY"},
    {"timeOffset": "3.127416s", "pornographyLikelihood": "POSSIBLE"},
]
FEATURES = {1: "LABEL_DETECTION", 2: "SHOT_CHANGE_DETECTION", 3: "EXPLICIT_CONTENT_DETECTION"}


class VideoOperations:
    """The fake's operations: annotate starts one, get polls it."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.operations: dict[str, dict[str, Any]] = {}
        self.polls_until_done = POLLS_UNTIL_DONE
        self.failures: list[dict[str, Any]] = []  # the next operations end with these errors ({code, message})

    def fail_next(self, code: int, message: str) -> None:
        """The next operation started ends ``done`` with ``error {code, message}``."""
        self.failures.append({"code": code, "message": message})

    def annotate(self, req: Recorded) -> Reply:
        body = req.json()
        if not body.get("inputContent") and not str(body.get("inputUri", "")).startswith("gs://"):
            return _error(400, "Invalid input: set input_content or a gs:// input_uri.")
        features = [FEATURES.get(f, f) if isinstance(f, int) else f for f in body.get("features", [])]
        with self._lock:
            name = f"projects/1016/locations/us-east1/operations/{15883475829651840090 + next(self._ids)}"
            error = self.failures.pop(0) if self.failures else None
            self.operations[name] = {"features": features, "uri": body.get("inputUri"), "polls": 0, "error": error}
        return Reply(json={"name": name})

    def get(self, req: Recorded) -> Reply:
        name = req.path.removeprefix("/v1/")
        with self._lock:
            op = self.operations.get(name)
            if op is None:
                return _error(404, f"Operation {name} not found.")
            op["polls"] += 1
            polls = op["polls"]
        uri = op["uri"] or "/cloud-samples-data/video/cat.mp4"
        progress = {
            "@type": "type.googleapis.com/google.cloud.videointelligence.v1.AnnotateVideoProgress",
            "annotationProgress": [{"inputUri": uri, "progressPercent": 100 if polls > self.polls_until_done else 40}],
        }
        if polls <= self.polls_until_done:
            return Reply(json={"name": name, "metadata": progress})
        if op["error"] is not None:
            return Reply(json={"name": name, "metadata": progress, "done": True, "error": op["error"]})
        return Reply(json={"name": name, "metadata": progress, "done": True, "response": _response(op, uri)})


def _response(op: dict[str, Any], uri: str) -> dict[str, Any]:
    result: dict[str, Any] = {"inputUri": uri}
    if "LABEL_DETECTION" in op["features"]:
        result["segmentLabelAnnotations"] = SEGMENT_LABELS
        result["shotLabelAnnotations"] = SHOT_LABELS
    if "SHOT_CHANGE_DETECTION" in op["features"]:
        result["shotAnnotations"] = SHOTS
    if "EXPLICIT_CONTENT_DETECTION" in op["features"]:
        result["explicitAnnotation"] = {"frames": EXPLICIT_FRAMES}
    return {
        "@type": "type.googleapis.com/google.cloud.videointelligence.v1.AnnotateVideoResponse",
        "annotationResults": [result],
    }


def _error(status: int, message: str) -> Reply:
    names = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}
    return Reply(status=status, json={"error": {"code": status, "message": message, "status": names[status]}})

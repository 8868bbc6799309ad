"""Rekognition Video on the AWS JSON fake: moto 5.2 has no StartLabelDetection,
StartSegmentDetection or StartContentModeration (nor their Get* calls), so they are answered here.

As documented: ``Start*`` takes ``Video.S3Object {Bucket, Name}`` and answers ``{"JobId"}``
(the same ``ClientRequestToken`` gives the same job); the object must exist (the fake asks
moto's S3: a missing one is ``InvalidS3ObjectException``). ``Get*`` answers ``JobStatus``
IN_PROGRESS first, then SUCCEEDED with the results in pages of two (``NextToken``),
and ``VideoMetadata`` (an object for labels and moderation, a list for segments). A job can
be made to fail (``JobStatus`` FAILED with a ``StatusMessage``).

The answers follow the API reference's response shapes: labels aggregated by SEGMENTS
(``Timestamp``, ``Label {Name, Confidence, Parents, ...}``, ``StartTimestampMillis``,
``EndTimestampMillis``, ``DurationMillis``), SHOT segments with ``ShotSegment {Index,
Confidence}`` and SMPTE timecodes, ``ModerationLabels`` with ``ModerationLabel {Name,
Confidence, ParentName, TaxonomyLevel}``. Times are milliseconds, confidences 0-100. The
values are ours, in those shapes: a 10 s clip of H.264 at 1280x720, 3 shots, whatever was sent.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from contract_tests.fakes.scripted import Recorded, Reply

METADATA = {
    "Codec": "h264",
    "DurationMillis": 10010,
    "Format": "QuickTime / MOV",
    "FrameRate": 29.97,
    "FrameHeight": 720,
    "FrameWidth": 1280,
    "ColorRange": "LIMITED",
}
LABELS = [
    ("Person", 99.35, 0, 6006, [{"Name": "Human"}]),
    ("Car", 98.43, 2002, 10010, [{"Name": "Transportation"}, {"Name": "Vehicle"}]),
    ("Road", 91.2, 0, 10010, []),
    ("Tree", 83.66, 6006, 10010, [{"Name": "Plant"}]),
    ("Building", 77.09, 4004, 8008, [{"Name": "Architecture"}]),
]
SHOTS = [(0, 3303, 99.70), (3337, 6673, 99.21), (6707, 10010, 98.86)]
MODERATION = [
    (1001, "Violence", 62.4, "", 1),
    (1001, "Graphic Violence", 62.4, "Violence", 2),
    (7007, "Alcohol", 88.1, "", 1),
]
ITEMS = {"label": "Labels", "segment": "Segments", "moderation": "ModerationLabels"}


def _smpte(millis: int) -> str:
    seconds, rest = divmod(millis, 1000)
    return f"00:00:{seconds:02d};{round(rest * 29.97 / 1000):02d}"


def _items(kind: str) -> list[dict[str, Any]]:
    if kind == "label":
        return [
            {
                "Timestamp": start,
                "Label": {"Name": name, "Confidence": conf, "Instances": [], "Parents": parents, "Aliases": []},
                "StartTimestampMillis": start,
                "EndTimestampMillis": end,
                "DurationMillis": end - start,
            }
            for name, conf, start, end, parents in LABELS
        ]
    if kind == "segment":
        return [
            {
                "Type": "SHOT",
                "StartTimestampMillis": start,
                "EndTimestampMillis": end,
                "DurationMillis": end - start,
                "StartTimecodeSMPTE": _smpte(start),
                "EndTimecodeSMPTE": _smpte(end),
                "DurationSMPTE": _smpte(end - start),
                "ShotSegment": {"Index": i, "Confidence": conf},
                "StartFrameNumber": round(start * 0.02997),
                "EndFrameNumber": round(end * 0.02997),
                "DurationFrames": round((end - start) * 0.02997),
            }
            for i, (start, end, conf) in enumerate(SHOTS)
        ]
    return [
        {
            "Timestamp": at,
            "ModerationLabel": {"Confidence": conf, "Name": name, "ParentName": parent, "TaxonomyLevel": level},
            "StartTimestampMillis": at,
            "EndTimestampMillis": at + 1001,
            "DurationMillis": 1001,
            "ContentTypes": [],
        }
        for at, name, conf, parent, level in MODERATION
    ]


class RekognitionVideo:
    """The fake's video jobs; ``s3()`` gives a boto3 S3 client on moto (to check the staged object)."""

    def __init__(self, s3: Callable[[], Any] | None) -> None:
        self.s3 = s3
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.by_token: dict[str, str] = {}
        self.fail_next: str | None = None  # the next job started ends FAILED with this StatusMessage
        self.polls_until_done = 1
        self.page_size = 2  # at most this many items a page (the service may answer fewer than MaxResults)

    def handlers(self) -> dict[str, Callable[[Recorded], Reply]]:
        out: dict[str, Callable[[Recorded], Reply]] = {}
        for kind, name in (
            ("label", "LabelDetection"),
            ("segment", "SegmentDetection"),
            ("moderation", "ContentModeration"),
        ):
            out[f"RekognitionService.Start{name}"] = lambda req, kind=kind: self.start(req, kind)
            out[f"RekognitionService.Get{name}"] = lambda req, kind=kind: self.get(req, kind)
        return out

    def start(self, req: Recorded, kind: str) -> Reply:
        body = req.json()
        s3obj = body.get("Video", {}).get("S3Object", {})
        if self.s3 is not None:
            try:
                self.s3().head_object(Bucket=s3obj.get("Bucket", ""), Key=s3obj.get("Name", ""))
            except Exception:
                return _error("InvalidS3ObjectException", "Unable to get object metadata from S3. Check object key.")
        with self._lock:
            token = body.get("ClientRequestToken")
            if token and token in self.by_token:
                return Reply(json={"JobId": self.by_token[token]}, content_type="application/x-amz-json-1.1")
            job_id = f"{next(self._ids):064x}"[-64:]
            self.jobs[job_id] = {"kind": kind, "polls": 0, "failed": self.fail_next, "s3": s3obj}
            self.fail_next = None
            if token:
                self.by_token[token] = job_id
        return Reply(json={"JobId": job_id}, content_type="application/x-amz-json-1.1")

    def get(self, req: Recorded, kind: str) -> Reply:
        body = req.json()
        with self._lock:
            job = self.jobs.get(body.get("JobId", ""))
            if job is None or job["kind"] != kind:
                return _error("ResourceNotFoundException", "The job was not found.")
            job["polls"] += 1
            polls = job["polls"]
        if polls <= self.polls_until_done:
            return _ok({"JobStatus": "IN_PROGRESS"})
        if job["failed"]:
            return _ok({"JobStatus": "FAILED", "StatusMessage": job["failed"]})
        items = _items(kind)
        size = min(int(body.get("MaxResults", 1000)), self.page_size)
        start = int(body.get("NextToken") or 0)
        page = items[start : start + size]
        answer: dict[str, Any] = {"JobStatus": "SUCCEEDED", ITEMS[kind]: page}
        answer["VideoMetadata"] = [METADATA] if kind == "segment" else METADATA
        if kind == "segment":
            answer["SelectedSegmentTypes"] = [{"Type": "SHOT", "ModelVersion": "1.0"}]
        if kind == "label":
            answer["LabelModelVersion"] = "3.0"
        if start + size < len(items):
            answer["NextToken"] = str(start + size)
        return _ok(answer)


def _ok(body: Any) -> Reply:
    return Reply(json=body, content_type="application/x-amz-json-1.1")


def _error(code: str, message: str) -> Reply:
    body = {"__type": f"com.amazonaws.rekognition#{code}", "Message": message}
    return Reply(status=400, json=body, content_type="application/x-amz-json-1.1")

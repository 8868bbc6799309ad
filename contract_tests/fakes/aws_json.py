"""A wire-level fake of the AWS JSON 1.1 services, in front of moto's server.

AWS's JSON 1.1 services (Rekognition, Comprehend, Translate, Textract, Transcribe) all
take ``POST /`` with ``X-Amz-Target: <Service>.<Operation>`` and a JSON body, and
answer JSON, or an error ``{"__type": "<namespace>#<Code>", "message": ...}`` that boto3
raises as ``ClientError`` with that code. botocore sends a client to one endpoint per
service, while moto 5.2.5 implements only some operations of a service (DetectLabels but
not DetectFaces). So this fake serves the *whole* service:

- the operations moto lacks are answered here with the documented response shapes
  (DetectFaces, DetectModerationLabels, DetectEntities, DetectDominantLanguage,
  DetectToxicContent, TranslateText, and Textract DetectDocumentText, whose moto answer
  is empty);
- every other operation is forwarded unchanged to moto (``upstream``), so moto still
  answers DetectLabels, DetectText, DetectSentiment, DetectKeyPhrases and the Transcribe
  job calls;
- Rekognition Video's jobs (Start*/Get* of labels, segments, moderation) are not in moto at
  all: ``contract_tests.fakes.aws_video`` answers them, checking the staged clip in moto's S3;
- Transcribe's jobs never write a transcript in moto: when a StartTranscriptionJob is
  forwarded, the fake writes a canned transcript (Transcribe's documented JSON) to moto's
  S3 at the job's ``OutputBucketName``/``OutputKey``, so the adapter's read path runs.

Every operation is its own route, so a test scripts failures per operation with
``fail(target, *replies)`` (see ``aws_error``); the answers are canned, as moto's are,
but entity and phrase offsets are computed from the input as code points.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from contract_tests.fakes.aws_video import RekognitionVideo
from contract_tests.fakes.scripted import Recorded, Reply, ScriptedVendor

JSON_11 = "application/x-amz-json-1.1"
NAMESPACES = {
    "RekognitionService": "com.amazonaws.rekognition",
    "Comprehend_20171127": "com.amazonaws.comprehend",
    "AWSShineFrontendService_20170701": "com.amazonaws.translate",
    "Textract": "com.amazonaws.textract",
    "Transcribe": "com.amazonaws.transcribe",
}
FORWARDED = (
    "RekognitionService.DetectLabels",
    "RekognitionService.DetectText",
    "Comprehend_20171127.DetectSentiment",
    "Comprehend_20171127.DetectKeyPhrases",
    "Transcribe.GetTranscriptionJob",
    "Transcribe.DeleteTranscriptionJob",
)
GAZETTEER = {
    "Tim Cook": "PERSON",
    "Apple": "ORGANIZATION",
    "Berlin": "LOCATION",
    "next year": "DATE",
    "iPhone": "COMMERCIAL_ITEM",
}
STOPWORDS = {
    "en": {"the", "and", "is", "are", "we", "to", "today", "of"},
    "fr": {"le", "la", "et", "est", "nous", "au", "aujourd'hui", "les"},
    "es": {"el", "la", "y", "es", "hoy", "vamos", "al", "parque"},
    "de": {"das", "der", "und", "ist", "wir", "heute", "in", "den"},
}
TRANSLATIONS = {
    ("en", "es"): {
        "The weather is lovely today and we are going to the park.": "Hoy hace un tiempo precioso y vamos al parque."
    },
}
TRANSCRIPT_WORDS = (("hello", 0.10, 0.45, 0.98), ("from", 0.50, 0.70, 0.95), ("omnisense", 0.75, 1.20, 0.91))
# With ShowSpeakerLabels: two speakers, two turns each (the word's speaker label last).
DIARIZED_WORDS = (
    ("hello", 0.10, 0.45, 0.98, "spk_0"),
    ("there", 0.50, 0.80, 0.95, "spk_0"),
    ("hi", 1.40, 1.60, 0.97, "spk_1"),
    ("back", 1.65, 1.90, 0.90, "spk_1"),
    ("bye", 2.50, 2.80, 0.93, "spk_0"),
)


def aws_error(target_or_service: str, code: str, message: str = "", status: int = 400) -> Reply:
    """The error body an AWS JSON 1.1 service answers: ``{"__type": "ns#Code", "message": ...}``."""
    namespace = NAMESPACES.get(target_or_service.split(".", 1)[0], "com.amazonaws")
    body = {"__type": f"{namespace}#{code}", "message": message or code}
    return Reply(status=status, json=body, content_type=JSON_11)


def ok(body: Any) -> Reply:
    return Reply(json=body, content_type=JSON_11)


def detect_language(text: str) -> list[dict[str, Any]]:
    words = {w.strip(".,!?").lower() for w in text.split()}
    scores = {lang: len(words & stop) for lang, stop in STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    total = sum(scores.values()) or 1
    langs = [{"LanguageCode": best, "Score": max(0.5, scores[best] / total)}]
    return langs + [{"LanguageCode": lang, "Score": 0.01} for lang in scores if lang != best and scores[lang]]


# --- operations moto lacks: documented response shapes ------------------------------------


def detect_faces(req: Recorded) -> Reply:
    eyes = [("eyeLeft", 0.31, 0.35), ("eyeRight", 0.52, 0.35), ("nose", 0.42, 0.5), ("mouthLeft", 0.33, 0.7)]
    marks = [{"Type": t, "X": x, "Y": y} for t, x, y in eyes] + [{"Type": "upperJawlineLeft", "X": -0.004, "Y": 0.4}]
    face = {
        # Partly outside the frame on the left, as Rekognition reports such faces.
        "BoundingBox": {"Width": 0.62, "Height": 0.81, "Left": -0.0132, "Top": 0.1},
        "Confidence": 99.99,
        "Landmarks": marks,
        "Pose": {"Roll": 1.2, "Yaw": -3.0, "Pitch": 4.1},
        "Quality": {"Brightness": 80.1, "Sharpness": 92.3},
    }
    return ok({"FaceDetails": [face], "OrientationCorrection": "ROTATE_0"})


def detect_moderation_labels(req: Recorded) -> Reply:
    labels = [
        {"Confidence": 62.5, "Name": "Suggestive", "ParentName": "", "TaxonomyLevel": 1},
        {"Confidence": 58.0, "Name": "Revealing Clothes", "ParentName": "Suggestive", "TaxonomyLevel": 2},
    ]
    return ok({"ModerationLabels": labels, "ModerationModelVersion": "7.0"})


def detect_entities(req: Recorded) -> Reply:
    text: str = req.json()["Text"]
    entities = []
    for surface, kind in GAZETTEER.items():
        at = text.find(surface)
        if at >= 0:  # Python indexes code points, which is what Comprehend documents
            entities.append(
                {"Score": 0.99, "Type": kind, "Text": surface, "BeginOffset": at, "EndOffset": at + len(surface)}
            )
    return ok({"Entities": sorted(entities, key=lambda e: e["BeginOffset"])})


def detect_dominant_language(req: Recorded) -> Reply:
    return ok({"Languages": detect_language(req.json()["Text"])})


# DetectToxicContent's seven labels; a segment scores high on a label when it has one of its words.
TOXIC_WORDS = {
    "PROFANITY": {"damn", "crap", "hell"},
    "HATE_SPEECH": {"vermin"},
    "INSULT": {"idiot", "stupid", "moron"},
    "GRAPHIC": {"gore", "bloody"},
    "HARASSMENT_OR_ABUSE": {"worthless", "pathetic"},
    "SEXUAL": {"nude"},
    "VIOLENCE_OR_THREAT": {"kill", "hurt"},
}
TOXIC_LIMITS = (10, 1024, 10 * 1024)  # segments, bytes per segment, bytes in all (API reference)


def detect_toxic_content(req: Recorded) -> Reply:
    body = req.json()
    segments = [s["Text"] for s in body["TextSegments"]]
    if body.get("LanguageCode") != "en":
        return aws_error("Comprehend_20171127", "UnsupportedLanguageException", "English only")
    sizes = [len(s.encode()) for s in segments]
    if not segments or len(segments) > TOXIC_LIMITS[0] or max(sizes) > TOXIC_LIMITS[1] or sum(sizes) > TOXIC_LIMITS[2]:
        return aws_error("Comprehend_20171127", "TextSizeLimitExceededException", "segments over the limits")
    results = []
    for text in segments:
        words = {w.strip(".,!?").lower() for w in text.split()}
        labels = [{"Name": name, "Score": 0.93 if words & hits else 0.012} for name, hits in TOXIC_WORDS.items()]
        results.append({"Labels": labels, "Toxicity": max(label["Score"] for label in labels)})
    return ok({"ResultList": results})


def translate_text(req: Recorded) -> Reply:
    body = req.json()
    text, source, target = body["Text"], body["SourceLanguageCode"], body["TargetLanguageCode"]
    if source == "auto":
        source = detect_language(text)[0]["LanguageCode"]
    if source == target:
        return aws_error("AWSShineFrontendService_20170701", "UnsupportedLanguagePairException", "same languages")
    translated = TRANSLATIONS.get((source, target), {}).get(text, f"[{target}] {text}")
    return ok({"TranslatedText": translated, "SourceLanguageCode": source, "TargetLanguageCode": target})


def detect_document_text(req: Recorded) -> Reply:
    box = {"Width": 0.5, "Height": 0.2, "Left": 0.04, "Top": 0.33}
    geometry = {"BoundingBox": box, "Polygon": [{"X": 0.04, "Y": 0.33}, {"X": 0.54, "Y": 0.33}]}
    blocks: list[dict[str, Any]] = [
        {"BlockType": "PAGE", "Id": "p1", "Geometry": {"BoundingBox": {"Width": 1, "Height": 1, "Left": 0, "Top": 0}}},
        {"BlockType": "LINE", "Id": "l1", "Confidence": 99.1, "Text": "HELLO WORLD", "Geometry": geometry},
        {"BlockType": "WORD", "Id": "w1", "Confidence": 99.3, "Text": "HELLO", "Geometry": geometry},
        {"BlockType": "WORD", "Id": "w2", "Confidence": 98.9, "Text": "WORLD", "Geometry": geometry},
    ]
    return ok({"DocumentMetadata": {"Pages": 1}, "Blocks": blocks, "DetectDocumentTextModelVersion": "1.0"})


def transcript_json(job: str, words: tuple[tuple[str, float, float, float], ...] = TRANSCRIPT_WORDS) -> dict[str, Any]:
    """Transcribe's transcript file, as written to the output bucket."""
    items: list[dict[str, Any]] = [
        {
            "type": "pronunciation",
            "start_time": f"{start:.2f}",
            "end_time": f"{end:.2f}",
            "alternatives": [{"confidence": f"{conf:.4f}", "content": word}],
        }
        for word, start, end, conf in words
    ]
    items.append({"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]})
    text = " ".join(w[0] for w in words).capitalize() + "."
    results = {"transcripts": [{"transcript": text}], "items": items, "language_code": "en-US"}
    return {"jobName": job, "accountId": "123456789012", "results": results, "status": "COMPLETED"}


def diarized_transcript_json(job: str, words: tuple[tuple[str, float, float, float, str], ...] = DIARIZED_WORDS) -> Any:
    """The transcript with ``ShowSpeakerLabels``, as documented: each item's ``speaker_label`` and
    ``results.speaker_labels`` (``speakers`` and ``segments[{start_time, end_time, speaker_label, items}]``)."""
    out = transcript_json(job, tuple(w[:4] for w in words))
    for item, word in zip(out["results"]["items"], words, strict=False):
        item["speaker_label"] = word[4]
    segments: list[dict[str, Any]] = []
    for _word, start, end, _, label in words:
        entry = {"start_time": f"{start:.2f}", "end_time": f"{end:.2f}", "speaker_label": label}
        if not segments or segments[-1]["speaker_label"] != label:
            segments.append({**entry, "items": []})
        segments[-1]["end_time"] = entry["end_time"]
        segments[-1]["items"].append(entry)
    out["results"]["speaker_labels"] = {"speakers": len({w[4] for w in words}), "segments": segments}
    return out


class AwsJsonFake:
    """The fake: ``start()``, point the JSON 1.1 clients at ``url``, ``stop()``."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream
        self.vendor = ScriptedVendor()
        self._s3_client: Any = None
        self.handlers: dict[str, Callable[[Recorded], Reply]] = {
            "RekognitionService.DetectFaces": detect_faces,
            "RekognitionService.DetectModerationLabels": detect_moderation_labels,
            "Comprehend_20171127.DetectEntities": detect_entities,
            "Comprehend_20171127.DetectDominantLanguage": detect_dominant_language,
            "Comprehend_20171127.DetectToxicContent": detect_toxic_content,
            "AWSShineFrontendService_20170701.TranslateText": translate_text,
            "Textract.DetectDocumentText": detect_document_text,
            "Transcribe.StartTranscriptionJob": self.start_transcription_job,
        }
        self.handlers.update(dict.fromkeys(FORWARDED, self.forward))
        self.video = RekognitionVideo(self._s3 if upstream is not None else None)
        self.handlers.update(self.video.handlers())

    @property
    def url(self) -> str:
        return self.vendor.url

    @property
    def requests(self) -> list[Recorded]:
        return self.vendor.requests

    def start(self) -> AwsJsonFake:
        for target, handler in self.handlers.items():
            self.vendor.route("POST", "/", handler, when={"X-Amz-Target": target})
        self.vendor.route("POST", "/", self.forward)  # any other operation: moto's answer
        self.vendor.start()
        return self

    def stop(self) -> None:
        self.vendor.stop()

    def fail(self, target: str, *replies: Reply) -> None:
        """The next calls of ``target`` (``RekognitionService.DetectFaces``) get ``replies``."""
        self.vendor.push("POST", "/", *replies, when={"X-Amz-Target": target})

    def reset(self) -> None:
        self.vendor.reset()

    def targets(self) -> list[str]:
        """The ``X-Amz-Target`` of every request received, in order."""
        return [r.headers.get("X-Amz-Target", "") for r in self.vendor.requests]

    # --- forwarding to moto ------------------------------------------------------------------

    def forward(self, req: Recorded) -> Reply:
        if self.upstream is None:
            return aws_error(req.headers.get("X-Amz-Target", ""), "UnknownOperationException", status=400)
        skip = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}
        headers = {k: v for k, v in req.headers.items() if k.lower() not in skip}
        http = urllib.request.Request(self.upstream + req.path, data=req.body, headers=headers, method=req.method)
        try:
            with urllib.request.urlopen(http, timeout=10) as resp:
                return Reply(status=resp.status, body=resp.read(), content_type=JSON_11)
        except urllib.error.HTTPError as exc:
            return Reply(status=exc.code, body=exc.read(), content_type=JSON_11)

    def start_transcription_job(self, req: Recorded) -> Reply:
        reply = self.forward(req)
        body = req.json()
        if reply.status == 200 and body.get("OutputBucketName") and self.upstream is not None:
            key = body.get("OutputKey") or f"{body['TranscriptionJobName']}.json"
            name = body["TranscriptionJobName"]
            diarized = (body.get("Settings") or {}).get("ShowSpeakerLabels")
            data = json.dumps(diarized_transcript_json(name) if diarized else transcript_json(name)).encode()
            self._s3().put_object(Bucket=body["OutputBucketName"], Key=key, Body=data)
        return reply

    def _s3(self) -> Any:
        """A boto3 S3 client on moto: what Transcribe's worker would write with."""
        if self._s3_client is None:
            import boto3

            region = "us-east-1"
            self._s3_client = boto3.client(
                "s3",
                endpoint_url=self.upstream,
                region_name=region,
                aws_access_key_id="fake",
                aws_secret_access_key="fake",
            )
        return self._s3_client

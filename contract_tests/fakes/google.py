"""A wire-level fake of the Google Cloud REST APIs the ``google`` and ``vertex`` kinds call.

One HTTP server answers every service (point ``endpoint:`` at it): Vision
``/v1/images:annotate``, Natural Language ``/v2/documents:*``, Translation
``/v3/projects/P/locations/L:translateText|:detectLanguage``, Text-to-Speech
``/v1/text:synthesize`` and ``/v1/voices``, Speech-to-Text ``/v1/speech:recognize``, Video
Intelligence ``/v1/videos:annotate`` and its operations (``contract_tests.fakes.google_video``), and
Vertex AI ``/v1/projects/P/locations/L/endpoints/E:predict`` (and ``GET`` of the endpoint).

The answers are Google's own documented examples (the reference pages' sample responses:
the "Street/Snapshot/Town" labels, the bicycle objects, the safe-search sample, the
"how old is the Brooklyn Bridge" transcript, the AutoML prediction schemas), in the
documented shapes: Vision likelihoods and break types as enum *names*; enums as integers
where the client asked ``$alt=json;enum-encoding=int`` (Natural Language entity types);
pixel vertices with zero coordinates omitted; durations as strings (``"1.300s"``).
Offsets follow the request's ``encodingType`` (UTF8 bytes, UTF16 code units, UTF32 code
points), as Google computes them. Where the answer must depend on the input (entity
offsets, the image's size, the sentiment of the contract sentences) it is computed.

Errors: ``google_error(status, message)`` is the documented body
``{"error": {"code", "message", "status"}}``; tests queue it (or a hang, a malformed body,
an error inside a 200) with ``fail(path_regex, *replies)``.
"""

from __future__ import annotations

import base64
import io
import struct
import wave
from typing import Any

from contract_tests.fakes.google_video import ANNOTATE_VIDEO, OPERATION, VideoOperations
from contract_tests.fakes.scripted import Recorded, Reply, ScriptedVendor

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
ANNOTATE = r"/v1/images:annotate"
LANGUAGE = r"/v2/documents:(analyzeSentiment|analyzeEntities|moderateText)"
TRANSLATE = r"/v3/projects/[^/]+/locations/[^/:]+:(translateText|detectLanguage)"
SYNTHESIZE, VOICES, RECOGNIZE = r"/v1/text:synthesize", r"/v1/voices", r"/v1/speech:recognize"
PREDICT = r"/v1/projects/[^/]+/locations/[^/]+/endpoints/[^/:]+(:predict)?"

# Vision's documented samples.
LABELS = [  # the "Detect labels" page's sample (its Setagaya street photo)
    {"mid": "/m/01c8br", "description": "Street", "score": 0.872, "topicality": 0.872},
    {"mid": "/m/06pg22", "description": "Snapshot", "score": 0.852, "topicality": 0.852},
    {"mid": "/m/0dx1j", "description": "Town", "score": 0.848, "topicality": 0.848},
    {"mid": "/m/01d74z", "description": "Night", "score": 0.804, "topicality": 0.804},
    {"mid": "/m/01lwf0", "description": "Alley", "score": 0.713, "topicality": 0.713},
]
OBJECTS = [
    ("/m/01bqk0", "Bicycle wheel", 0.89648587, (0.32076266, 0.78941387, 0.43812272, 0.97331065)),
    ("/m/0199g", "Bicycle", 0.886761, (0.312, 0.6616471, 0.638353, 0.9705882)),
    ("/m/06z37_", "Picture frame", 0.6207608, (0.79177403, 0.16160682, 0.97047985, 0.31348917)),
]
SAFE_SEARCH = {
    "adult": "UNLIKELY",
    "spoof": "VERY_UNLIKELY",
    "medical": "VERY_UNLIKELY",
    "violence": "LIKELY",
    "racy": "POSSIBLE",
}
OCR_TEXT = ("HELLO", "WORLD")
TRANSCRIPT = (("how", 0.0, 0.3), ("old", 0.3, 0.6), ("is", 0.6, 0.8), ("the", 0.8, 0.9))
TRANSCRIPT += (("Brooklyn", 0.9, 1.3), ("Bridge", 1.3, 1.78))
GAZETTEER = {
    "Tim Cook": "PERSON",
    "Apple": "ORGANIZATION",
    "Berlin": "LOCATION",
    "next year": "DATE",
    "iPhone": "CONSUMER_GOOD",
}
ENTITY_NUMBERS = {
    "UNKNOWN": 0,
    "PERSON": 1,
    "LOCATION": 2,
    "ORGANIZATION": 3,
    "EVENT": 4,
    "CONSUMER_GOOD": 6,
    "DATE": 11,
}
POSITIVE_WORDS = {"love", "wonderful", "great", "forever", "lovely"}
NEGATIVE_WORDS = {"worst", "rude", "broken", "hate", "awful"}
TOXIC_WORDS = {"idiot", "stupid", "hate", "damn"}
MODERATION = (
    *("Toxic", "Insult", "Profanity", "Derogatory", "Sexual", "Violent", "Death, Harm & Tragedy"),
    *("Firearms & Weapons", "Public Safety", "Health", "Religion & Belief", "Illicit Drugs", "War & Conflict"),
    *("Politics", "Finance", "Legal"),
)
STOPWORDS = {
    "en": {"the", "and", "is", "are", "we", "to", "today", "of"},
    "fr": {"le", "la", "et", "est", "nous", "au", "aujourd'hui", "les"},
    "es": {"el", "la", "y", "es", "hoy", "vamos", "al", "parque"},
    "de": {"das", "der", "und", "ist", "wir", "heute", "in", "den"},
}
# Vertex endpoints of the fake, by id: the AutoML schema (or custom shape) each answers.
VERTEX_ENDPOINTS = {"101": "image_classification", "102": "image_object_detection", "103": "text_sentiment"}
VERTEX_ENDPOINTS |= {"104": "custom_labels", "105": "custom_sentiment"}


def google_error(status: int, message: str = "", retry_after: str | None = None) -> Reply:
    """Google's documented error body for an HTTP status."""
    name = STATUS_NAMES.get(status, "UNKNOWN")
    body = {"error": {"code": status, "message": message or name.lower(), "status": name}}
    return Reply(status=status, json=body, headers={"Retry-After": retry_after} if retry_after else {})


def wants_int_enums(req: Recorded) -> bool:
    return "enum-encoding=int" in req.query.get("$alt", "")


def image_size(content: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(content))) as img:
        return img.width, img.height


def pixel_vertices(x0: float, y0: float, x1: float, y1: float, size: tuple[int, int]) -> list[dict[str, int]]:
    """A rectangle's pixel vertices as Vision writes them: zero coordinates omitted."""
    w, h = size
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    out = []
    for x, y in corners:
        px, py = round(x * w), round(y * h)
        out.append({k: v for k, v in (("x", px), ("y", py)) if v})
    return out


def faces(size: tuple[int, int]) -> dict[str, Any]:
    # At the image's left edge, as in the documented sample's first face: x=0 is omitted.
    marks = [("LEFT_EYE", 0.25, 0.35), ("RIGHT_EYE", 0.5, 0.35), ("NOSE_TIP", 0.38, 0.5), ("MOUTH_CENTER", 0.38, 0.7)]
    landmarks = [{"type": t, "position": {"x": x * size[0], "y": y * size[1], "z": 0.0015}} for t, x, y in marks]
    face = {
        "boundingPoly": {"vertices": pixel_vertices(0.0, 0.05, 0.8, 0.95, size)},
        "fdBoundingPoly": {"vertices": pixel_vertices(0.0, 0.15, 0.75, 0.9, size)},
        "landmarks": landmarks,
        "rollAngle": -0.6,
        "panAngle": 3.2,
        "detectionConfidence": 0.93457866,
        "landmarkingConfidence": 0.7159261,
        "joyLikelihood": "VERY_LIKELY",
        "sorrowLikelihood": "VERY_UNLIKELY",
        "angerLikelihood": "VERY_UNLIKELY",
        "surpriseLikelihood": "VERY_UNLIKELY",
        "underExposedLikelihood": "VERY_UNLIKELY",
        "blurredLikelihood": "VERY_UNLIKELY",
        "headwearLikelihood": "VERY_UNLIKELY",
    }
    return {"faceAnnotations": [face]}


def full_text(size: tuple[int, int]) -> dict[str, Any]:
    """``textAnnotations`` and ``fullTextAnnotation`` for one line, ``HELLO WORLD``."""
    words, x = [], 0.04
    for i, word in enumerate(OCR_TEXT):
        symbols: list[dict[str, Any]] = [{"text": ch, "confidence": 0.99} for ch in word]
        symbols[-1]["property"] = {"detectedBreak": {"type": "LINE_BREAK" if i == len(OCR_TEXT) - 1 else "SPACE"}}
        box = {"vertices": pixel_vertices(x, 0.33, x + 0.4, 0.66, size)}
        words.append({"boundingBox": box, "symbols": symbols, "confidence": 0.98 - 0.02 * i})
        x += 0.45
    whole = " ".join(OCR_TEXT) + "\n"
    paragraph = {"boundingBox": {"vertices": pixel_vertices(0.04, 0.33, 0.89, 0.66, size)}, "words": words}
    block = {"boundingBox": paragraph["boundingBox"], "paragraphs": [paragraph], "blockType": "TEXT"}
    page = {
        "property": {"detectedLanguages": [{"languageCode": "en", "confidence": 1}]},
        "width": size[0],
        "height": size[1],
        "blocks": [block],
    }
    first = {"locale": "en", "description": whole, "boundingPoly": paragraph["boundingBox"]}
    word_annotations = [{"description": w, "boundingPoly": words[i]["boundingBox"]} for i, w in enumerate(OCR_TEXT)]
    return {"textAnnotations": [first, *word_annotations], "fullTextAnnotation": {"pages": [page], "text": whole}}


def annotate(req: Recorded) -> Reply:
    one = req.json()["requests"][0]
    feature = one["features"][0]
    kind, limit = str(feature["type"]), int(feature.get("maxResults") or 10)
    content = one["image"].get("content")
    size = image_size(content) if content else (640, 480)
    if kind in ("4", "LABEL_DETECTION"):
        answer: dict[str, Any] = {"labelAnnotations": LABELS[:limit]}
    elif kind in ("19", "OBJECT_LOCALIZATION"):
        found = [
            {"mid": mid, "name": name, "score": score, "boundingPoly": {"normalizedVertices": _normalized(*box)}}
            for mid, name, score, box in OBJECTS
        ]
        answer = {"localizedObjectAnnotations": found[:limit]}
    elif kind in ("1", "FACE_DETECTION"):
        answer = faces(size)
    elif kind in ("5", "11", "TEXT_DETECTION", "DOCUMENT_TEXT_DETECTION"):
        answer = full_text(size)
    elif kind in ("6", "SAFE_SEARCH_DETECTION"):
        answer = {"safeSearchAnnotation": SAFE_SEARCH}
    else:
        return google_error(400, f"unknown feature {kind}")
    return Reply(json={"responses": [answer]})


def _normalized(x0: float, y0: float, x1: float, y1: float) -> list[dict[str, float]]:
    return [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]


def _offset(text: str, at: int, encoding: Any) -> int:
    """A code-point offset in the unit of the request's ``encodingType``, as Google computes it."""
    if str(encoding) in ("1", "UTF8"):
        return len(text[:at].encode("utf-8"))
    if str(encoding) in ("2", "UTF16"):
        return len(text[:at].encode("utf-16-le")) // 2
    if str(encoding) in ("3", "UTF32"):
        return at
    return -1  # NONE: Google answers -1 offsets


def language(req: Recorded) -> Reply:
    body = req.json()
    text: str = body["document"]["content"]
    method = req.path.rsplit(":", 1)[1]
    words = {w.strip(".,!?").lower() for w in text.split()}
    common = {"languageCode": body["document"].get("languageCode", "en"), "languageSupported": True}
    if method == "analyzeSentiment":
        score = (len(words & POSITIVE_WORDS) - len(words & NEGATIVE_WORDS)) / 3.0
        score = max(-0.9, min(0.9, score))
        sentiment = {"magnitude": round(abs(score) * 1.5 + 0.1, 2), "score": round(score, 2)}
        sentence = {"text": {"content": text, "beginOffset": 0}, "sentiment": sentiment}
        return Reply(json={"documentSentiment": sentiment, "sentences": [sentence], **common})
    if method == "analyzeEntities":
        entities = []
        for surface, kind in GAZETTEER.items():
            at = text.find(surface)
            if at < 0:
                continue
            mention = {
                "text": {"content": surface, "beginOffset": _offset(text, at, body.get("encodingType"))},
                "type": 1 if wants_int_enums(req) else "PROPER",
                "probability": 0.98,
            }
            type_ = ENTITY_NUMBERS[kind] if wants_int_enums(req) else kind
            entities.append({"name": surface, "type": type_, "metadata": {}, "mentions": [mention]})
        return Reply(json={"entities": entities, **common})
    toxic = 0.9 if words & TOXIC_WORDS else 0.05
    categories = [{"name": n, "confidence": toxic if n in ("Toxic", "Insult") else 0.02} for n in MODERATION]
    return Reply(json={"moderationCategories": categories, **common})


def detect(text: str) -> list[dict[str, Any]]:
    words = {w.strip(".,!?").lower() for w in text.split()}
    scores = {lang: len(words & stop) for lang, stop in STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return [{"languageCode": best, "confidence": 1}]


def translation(req: Recorded) -> Reply:
    body = req.json()
    if req.path.endswith(":detectLanguage"):
        return Reply(json={"languages": detect(body["content"])})
    out = []
    for text in body["contents"]:
        item = {"translatedText": f"[{body['targetLanguageCode']}] {text}"}
        if not body.get("sourceLanguageCode"):
            item["detectedLanguageCode"] = detect(text)[0]["languageCode"]
        out.append(item)
    return Reply(json={"translations": out})


def wav(seconds: float = 0.2, rate: int = 24000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<h", 0) * int(seconds * rate))
    return buf.getvalue()


def synthesize(req: Recorded) -> Reply:
    encoding = str(req.json()["audioConfig"]["audioEncoding"])
    audio = {
        "LINEAR16": wav(),  # LINEAR16 answers carry the WAV header, as documented
        "1": wav(),
        "MP3": b"\xff\xfb\x90\x64" + b"\x00" * 413,
        "2": b"\xff\xfb\x90\x64" + b"\x00" * 413,
        "OGG_OPUS": b"OggS\x00\x02" + b"\x00" * 40,
        "3": b"OggS\x00\x02" + b"\x00" * 40,
    }.get(encoding)
    if audio is None:
        return google_error(400, f"unsupported audio encoding {encoding}")
    return Reply(json={"audioContent": base64.b64encode(audio).decode()})


def voices(req: Recorded) -> Reply:
    found = [
        {
            "languageCodes": ["en-US"],
            "name": "en-US-Neural2-F",
            "ssmlGender": "FEMALE",
            "naturalSampleRateHertz": 24000,
        },
        {"languageCodes": ["en-US"], "name": "en-US-Neural2-D", "ssmlGender": "MALE", "naturalSampleRateHertz": 24000},
        {"languageCodes": ["en-US"], "name": "en-US-Standard-A", "ssmlGender": "MALE", "naturalSampleRateHertz": 24000},
    ]
    return Reply(json={"voices": found})


def recognize(req: Recorded) -> Reply:
    """With ``enableWordConfidence`` each word carries its own confidence, as Google documents."""
    config = req.json()["config"]
    language = config.get("languageCode", "en-US").lower()
    words = [{"startTime": f"{s:.3f}s" if s else "0s", "endTime": f"{e:.3f}s", "word": w} for w, s, e in TRANSCRIPT]
    if config.get("enableWordConfidence"):
        for i, word in enumerate(words):
            word["confidence"] = round(0.99 - 0.01 * i, 2)
    alternative = {"transcript": " ".join(w for w, _, _ in TRANSCRIPT), "confidence": 0.98267895, "words": words}
    result = {"alternatives": [alternative], "resultEndTime": "1.780s", "languageCode": language}
    results = [result]
    if config.get("diarizationConfig", {}).get("enableSpeakerDiarization"):
        # As documented: a last result with every word again, each with its speakerTag (and no transcript).
        tagged = [{**word, "speakerTag": 1 if i < 3 else 2} for i, word in enumerate(words)]
        results.append({"alternatives": [{"words": tagged}], "resultEndTime": "1.780s", "languageCode": language})
    return Reply(json={"results": results, "totalBilledTime": "2s", "requestId": "8071893347357360426"})


def vertex(req: Recorded) -> Reply:
    endpoint = req.path.rsplit("/", 1)[1].split(":")[0]
    schema = VERTEX_ENDPOINTS.get(endpoint)
    if schema is None:
        return google_error(404, f"Endpoint `{endpoint}` not found.")
    if req.method == "GET":
        return Reply(json={"name": req.path[4:], "displayName": schema, "deployedModels": [{"id": "42"}]})
    model = {"deployedModelId": "5725442394547617792", "model": "projects/1/locations/us-central1/models/7"}
    prediction: dict[str, Any]
    if schema == "image_classification":
        prediction = {"ids": ["1", "2"], "displayNames": ["daisy", "dandelion"], "confidences": [0.97, 0.02]}
    elif schema == "image_object_detection":
        names, boxes = ["Salad", "Tomato"], [[0.1, 0.9, 0.05, 0.8], [0.3, 0.5, 0.4, 0.6]]
        prediction = {"ids": ["1", "2"], "displayNames": names, "confidences": [0.98, 0.77], "bboxes": boxes}
    elif schema == "text_sentiment":
        text = req.json()["instances"][0]["content"].lower()
        prediction = {"sentiment": 4 if set(text.split()) & POSITIVE_WORDS else 0}
    elif schema == "custom_labels":
        prediction = {"output": {"classes": ["cat", "dog"], "probabilities": [0.3, 0.7]}}
    else:
        prediction = {"score": 0.8}
    return Reply(json={"predictions": [prediction], **model})


class GoogleFake:
    """``start()``, point ``endpoint:`` at ``url``, ``stop()``; ``fail()`` scripts errors."""

    def __init__(self) -> None:
        self.vendor = ScriptedVendor()
        self.video = VideoOperations()
        self.routes = [
            ("POST", ANNOTATE_VIDEO, self.video.annotate),
            ("GET", OPERATION, self.video.get),
            ("POST", ANNOTATE, annotate),
            ("POST", LANGUAGE, language),
            ("POST", TRANSLATE, translation),
            ("POST", SYNTHESIZE, synthesize),
            ("GET", VOICES, voices),
            ("POST", RECOGNIZE, recognize),
            ("POST", PREDICT, vertex),
            ("GET", PREDICT, vertex),
        ]

    @property
    def url(self) -> str:
        return self.vendor.url

    @property
    def requests(self) -> list[Recorded]:
        return self.vendor.requests

    def start(self) -> GoogleFake:
        for method, path, handler in self.routes:
            self.vendor.route(method, path, handler)
        self.vendor.start()
        return self

    def stop(self) -> None:
        self.vendor.stop()

    def fail(self, path: str, *replies: Reply, method: str = "POST") -> None:
        """The next calls to the route ``path`` (one of the module's regexes) get ``replies``."""
        self.vendor.push(method, path, *replies)

    def reset(self) -> None:
        self.vendor.reset()

"""A wire-level fake of the Azure AI services, for the real SDKs to talk to.

One ``ScriptedVendor`` serves every service at the paths the real clients use, so one
``endpoint`` in a provider block (``http://127.0.0.1:PORT``) reaches them all:

- Computer Vision v3.2 (msrest client): ``POST /vision/v3.2/analyze?visualFeatures=...``
  (the body arrives ``Transfer-Encoding: chunked``: aiohttp de-chunks it, and the fake
  records that it was chunked), ``POST /vision/v3.2/read/analyze`` -> 202 +
  ``Operation-Location``, ``GET /vision/v3.2/read/analyzeResults/{id}`` -> ``running`` on the
  first poll, then the documented ``succeeded`` result;
- Language 2023-04-01: ``POST /language/:analyze-text`` (kinds SentimentAnalysis,
  EntityRecognition, KeyPhraseExtraction, LanguageDetection), answers computed from the
  input in the documented shape (offsets in code points, lexicon-based labels);
- Translator v3.0: ``POST /translate``, ``GET /languages``;
- Speech REST: ``POST /cognitiveservices/v1`` (audio per ``X-Microsoft-OutputFormat``),
  ``GET /cognitiveservices/voices/list``,
  ``POST /speech/recognition/conversation/cognitiveservices/v1``; fast transcription
  ``POST /speechtotext/transcriptions:transcribe?api-version=2024-11-15`` (a multipart body of
  ``audio`` and ``definition``; the documented diarized answer, its ``speaker`` fields left
  out when ``definition`` does not turn diarization on);
- Content Safety 2023-10-01: ``POST /contentsafety/text:analyze`` and ``image:analyze``.

Failures are scripted per operation with ``fail(op, *replies)`` (``ops`` below), with the
error bodies of ``azure_error`` / ``translator_error``. Every route also checks the key
header (``Ocp-Apim-Subscription-Key``) or an Entra bearer token, answering the documented 401
body when neither is right.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import wave
from typing import Any

from contract_tests.fakes import azure_examples as ex
from contract_tests.fakes.scripted import Recorded, Reply, ScriptedVendor

ROUTES: dict[str, tuple[str, str]] = {
    "analyze": ("POST", r"/vision/v3\.2/analyze"),
    "read": ("POST", r"/vision/v3\.2/read/analyze"),
    "read_result": ("GET", r"/vision/v3\.2/read/analyzeResults/[^/]+"),
    "language": ("POST", r"/language/:analyze-text"),
    "translate": ("POST", r"/translate"),
    "languages": ("GET", r"/languages"),
    "tts": ("POST", r"/cognitiveservices/v1"),
    "voices": ("GET", r"/cognitiveservices/voices/list"),
    "stt": ("POST", r"/speech/recognition/conversation/cognitiveservices/v1"),
    "fast": ("POST", r"/speechtotext/transcriptions:transcribe"),
    "text_safety": ("POST", r"/contentsafety/text:analyze"),
    "image_safety": ("POST", r"/contentsafety/image:analyze"),
}
POSITIVE = {"love", "wonderful", "great", "excellent", "forever", "lovely", "good", "happy"}
NEGATIVE = {"worst", "rude", "broken", "bad", "terrible", "awful", "hate"}
GAZETTEER = {
    "Tim Cook": ("Person", None),
    "Apple": ("Organization", None),
    "Berlin": ("Location", "GPE"),
    "next year": ("DateTime", "DateRange"),
    "Microsoft": ("Organization", None),
    "Bill Gates": ("Person", None),
}
STOPWORDS = {
    "en": ({"the", "and", "is", "are", "we", "to", "today", "of"}, "English"),
    "fr": ({"le", "la", "et", "est", "nous", "au", "aujourd'hui", "les"}, "French"),
    "es": ({"el", "la", "y", "es", "hoy", "vamos", "al", "parque"}, "Spanish"),
    "de": ({"das", "der", "und", "ist", "wir", "heute", "in", "den"}, "German"),
}
SAFETY_LEXICON = {"Hate": {"stupid", "idiot", "moron"}, "Violence": {"kill", "hurt"}}
TRANSLATIONS = {
    ("en", "es"): {
        "The weather is lovely today and we are going to the park.": "Hoy hace un tiempo precioso y vamos al parque."
    },
}


def azure_error(status: int, code: str, message: str, inner: str | None = None, **headers: str) -> Reply:
    """Azure's usual error body, ``{"error": {"code", "message", "innererror"?}}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner, "message": message}
    return Reply(status=status, json={"error": error}, headers=headers)


def translator_error(code: int, message: str, **headers: str) -> Reply:
    """Translator's body: a six-digit code whose first three digits are the HTTP status."""
    return Reply(status=code // 1000, json={"error": {"code": code, "message": message}}, headers=headers)


def ok(body: Any) -> Reply:
    return Reply(json=body)


class AzureFake(ScriptedVendor):
    def __init__(self, key: str = "test", token: str = "entra-test-token") -> None:
        super().__init__()
        self.key = key
        self.token = token  # an Entra ID bearer token the fake accepts instead of the key
        self._read_polls: dict[str, int] = {}
        handlers = {
            "analyze": self._analyze,
            "read": self._read,
            "read_result": self._read_result,
            "language": self._language,
            "translate": self._translate,
            "languages": lambda req: ok(ex.LANGUAGES),
            "tts": self._tts,
            "voices": lambda req: ok(ex.VOICES),
            "stt": lambda req: ok(ex.RECOGNITION),
            "fast": self._fast_transcription,
            "text_safety": self._text_safety,
            "image_safety": lambda req: ok(ex.IMAGE_ANALYSIS),
        }
        for op, (method, path) in ROUTES.items():
            self.route(method, path, self._authorized(handlers[op]))

    def fail(self, op: str, *replies: Reply) -> None:
        method, path = ROUTES[op]
        self.push(method, path, *replies)

    def calls(self, op: str) -> list[Recorded]:
        method, path = ROUTES[op]
        return [r for r in self.requests if r.method == method and re.fullmatch(path, r.path)]

    def _authorized(self, handler: Any) -> Any:
        def check(req: Recorded) -> Reply:
            if req.path == "/languages":  # Translator's /languages needs no key
                return handler(req)
            key = req.headers.get("Ocp-Apim-Subscription-Key")
            bearer = req.headers.get("Authorization", "").removeprefix("Bearer ")
            if key != self.key and bearer != self.token:
                message = "Access denied due to invalid subscription key or wrong API endpoint."
                return Reply(status=401, json={"error": {"code": "401", "message": message}})
            return handler(req)

        return check

    # --- Computer Vision -----------------------------------------------------------------

    def _analyze(self, req: Recorded) -> Reply:
        if not req.body:
            return azure_error(400, "InvalidRequest", "Image must be provided.", "InvalidImageFormat")
        body = dict(ex.ANALYZE)
        for feature in req.query.get("visualFeatures", "").split(","):
            body.update(ex.ANALYZE_FEATURES.get(feature, {}))
        return ok(body)

    def _read(self, req: Recorded) -> Reply:
        if not req.body:
            return azure_error(400, "InvalidRequest", "Image must be provided.", "InvalidImageFormat")
        op = str(uuid.uuid4())
        self._read_polls[op] = 0
        location = f"{self.url}/vision/v3.2/read/analyzeResults/{op}"
        return Reply(status=202, body=b"", headers={"Operation-Location": location})

    def _read_result(self, req: Recorded) -> Reply:
        op = req.path.rsplit("/", 1)[-1]
        if op not in self._read_polls:
            return azure_error(404, "NotFound", "Operation not found.")
        self._read_polls[op] += 1
        return ok(ex.READ_RUNNING if self._read_polls[op] == 1 else ex.READ_RESULT)

    # --- Language ------------------------------------------------------------------------

    def _language(self, req: Recorded) -> Reply:
        if req.query.get("api-version") != "2023-04-01":  # the version the adapter pins and reads
            return Reply(status=400, json={"error": {"code": "InvalidRequest", "message": "unsupported api-version"}})
        payload = req.json()
        kind = payload["kind"]
        docs, errors = [], []
        for doc in payload["analysisInput"]["documents"]:
            text = doc["text"]
            if not text.strip():
                errors.append(_doc_error(doc["id"], "InvalidDocument", "Document text is empty."))
                continue
            if kind != "LanguageDetection" and doc.get("language", "en") not in STOPWORDS:
                message = f"Invalid language code '{doc.get('language')}'."
                errors.append(_doc_error(doc["id"], "UnsupportedLanguageCode", message))
                continue
            docs.append({"id": doc["id"], "warnings": [], **LANGUAGE_KINDS[kind](text)})
        results = {"documents": docs, "errors": errors, "modelVersion": "2022-11-01"}
        return ok({"kind": f"{kind}Results", "results": results})

    # --- Translator ----------------------------------------------------------------------

    def _translate(self, req: Recorded) -> Reply:
        if req.query.get("api-version") != "3.0":
            return translator_error(400021, "The API version parameter is missing or invalid.")
        target = req.query.get("to", "")
        out = []
        for item in req.json():
            text = item.get("text") or item.get("Text") or ""
            source = req.query.get("from") or _detect(text)[0]
            translated = TRANSLATIONS.get((source, target), {}).get(text, f"[{target}] {text}")
            entry: dict[str, Any] = {"translations": [{"text": translated, "to": target}]}
            if "from" not in req.query:
                entry["detectedLanguage"] = {"language": source, "score": 1.0}
            out.append(entry)
        return ok(out)

    # --- Content Safety ------------------------------------------------------------------

    def _text_safety(self, req: Recorded) -> Reply:
        """The documented shape, severities from a small lexicon of the fake's own (not Azure's)."""
        text = req.json().get("text") or ""
        if not text.strip():
            return azure_error(400, "InvalidRequest", "The text is empty.")
        words = set(_words(text))
        body = json.loads(json.dumps(ex.TEXT_ANALYSIS))
        for item in body["categoriesAnalysis"]:
            hits = len(words & SAFETY_LEXICON.get(item["category"], set()))
            item["severity"] = min(6, 2 * hits)
        return ok(body)

    # --- Speech --------------------------------------------------------------------------

    def _tts(self, req: Recorded) -> Reply:
        fmt = req.headers.get("X-Microsoft-OutputFormat", "")
        if b"<speak" not in req.body:
            return Reply(status=400, body=b"", content_type="text/plain")
        if fmt.startswith("riff-"):
            buf = io.BytesIO()
            with wave.open(buf, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(24000)
                w.writeframes(b"\x00\x00" * 2400)
            return Reply(body=buf.getvalue(), content_type="audio/x-wav")
        if fmt.startswith("audio-") and fmt.endswith("mp3"):
            return Reply(body=b"\xff\xfb\x90\x64" + b"\x00" * 412, content_type="audio/mpeg")
        if fmt.startswith("ogg-"):
            return Reply(body=b"OggS" + b"\x00" * 60, content_type="audio/ogg")
        return Reply(body=b"\x00\x00" * 2400, content_type="audio/basic")

    def _fast_transcription(self, req: Recorded) -> Reply:
        if req.query.get("api-version") != "2024-11-15":
            return azure_error(404, "404", "Resource not found")
        parts = multipart_parts(req)
        if not parts.get("audio") or "definition" not in parts:
            return azure_error(400, "InvalidRequest", "The request needs an 'audio' file and a 'definition'.")
        definition = json.loads(parts["definition"])
        diarization = definition.get("diarization") or {}
        speakers = diarization.get("maxSpeakers")
        if speakers is not None and not 1 < speakers < 36:
            return azure_error(400, "InvalidArgument", "maxSpeakers must be greater than 1 and less than 36.")
        answer = json.loads(json.dumps(ex.FAST_TRANSCRIPTION_DIARIZED))
        if not diarization.get("enabled") and speakers is None:
            for phrase in answer["phrases"]:
                del phrase["speaker"]
        return ok(answer)


def multipart_parts(req: Recorded) -> dict[str, bytes]:
    """The named parts of a ``multipart/form-data`` body."""
    import email.parser
    import email.policy

    head = f"Content-Type: {req.headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
    if not message.is_multipart():
        return {}
    parts: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            parts[name] = payload if isinstance(payload, bytes) else b""
    return parts


def _doc_error(doc_id: str, inner: str, message: str) -> dict[str, Any]:
    error = {"code": "InvalidArgument", "message": message, "innererror": {"code": inner, "message": message}}
    return {"id": doc_id, "error": error}


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _sentiment(text: str) -> dict[str, Any]:
    words = set(_words(text))
    pos, neg = len(words & POSITIVE), len(words & NEGATIVE)
    if pos and neg:
        label, scores = "mixed", {"positive": 0.49, "neutral": 0.02, "negative": 0.49}
    elif pos:
        label, scores = "positive", {"positive": 0.98, "neutral": 0.02, "negative": 0.0}
    elif neg:
        label, scores = "negative", {"positive": 0.01, "neutral": 0.04, "negative": 0.95}
    else:
        label, scores = "neutral", {"positive": 0.05, "neutral": 0.9, "negative": 0.05}
    sentence = {"sentiment": label, "confidenceScores": scores, "offset": 0, "length": len(text), "text": text}
    return {"sentiment": label, "confidenceScores": scores, "sentences": [sentence]}


def _entities(text: str) -> dict[str, Any]:
    entities = []
    for name, (category, sub) in GAZETTEER.items():
        at = text.find(name)
        if at != -1:
            entity = {"text": name, "category": category, "offset": at, "length": len(name), "confidenceScore": 0.9}
            if sub:
                entity["subcategory"] = sub
            entities.append(entity)
    return {"entities": sorted(entities, key=lambda e: e["offset"])}


def _key_phrases(text: str) -> dict[str, Any]:
    stop = STOPWORDS["en"][0] | {"a", "will", "that", "open", "new", "announced"}
    phrases = [w for w in re.findall(r"[A-Za-z][\w']+", text) if w.lower() not in stop]
    return {"keyPhrases": phrases[:5]}


def _detect(text: str) -> tuple[str, str, float]:
    words = _words(text)
    scored = {code: sum(w in stop for w in words) for code, (stop, _) in STOPWORDS.items()}
    best = max(scored, key=lambda c: scored[c])
    if not scored[best]:
        return "(Unknown)", "(Unknown)", 0.0
    return best, STOPWORDS[best][1], 1.0 if scored[best] > 2 else 0.8


def _language_detection(text: str) -> dict[str, Any]:
    code, name, score = _detect(text)
    return {"detectedLanguage": {"name": name, "iso6391Name": code, "confidenceScore": score}}


LANGUAGE_KINDS = {
    "SentimentAnalysis": _sentiment,
    "EntityRecognition": _entities,
    "KeyPhraseExtraction": _key_phrases,
    "LanguageDetection": _language_detection,
}

__all__ = ["AzureFake", "azure_error", "json", "ok", "translator_error"]

"""Unit tests of the Google adapter's pure parts, fed with answers in Google's documented shapes.

Answers are parsed by the SDK's own message classes from JSON (``from_json``) into the raw
protobuf messages the adapter reads, exactly as the REST transport parses them, so omitted
zeros, enum names or numbers and string durations arrive as they do on the wire.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.cloud import language_v2, speech_v1, translate_v3, vision_v1

from adapters import registry
from adapters.google import errors, language, speech, translate, tts, vision
from adapters.google.config import GoogleConfig
from adapters.google.prices import load_prices, voice_price
from adapters.kit import parse_config
from gateway.cli import main
from omnisense.schema import (
    ImageRequest,
    InvalidInput,
    Media,
    PayloadTooLarge,
    SynthesizeRequest,
    Task,
    TextModerationResult,
    TextRequest,
    TranscribeRequest,
    TranslateRequest,
    Unsupported,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

JPEG = Media(data=b"\xff\xd8\xff" + b"0" * 100, format="jpeg", width=200, height=100)


def image(**kw: Any) -> ImageRequest:
    return ImageRequest(image=kw.pop("media", JPEG), **kw)


def parse(cls: Any, body: str) -> Any:
    """The raw protobuf message the adapter reads, as the REST transport parses the JSON."""
    return cls.pb(cls.from_json(body, ignore_unknown_fields=True))


def annotated(body: str) -> Any:
    return parse(vision_v1.BatchAnnotateImagesResponse, body)


# --- vision ---------------------------------------------------------------------------------


def test_vision_request_is_one_image_one_feature() -> None:
    body = vision.to_vendor(Task.VISION_OCR, image(document=True, language="ja", max_results=3))
    one = body["requests"][0]
    assert one["image"] == {"content": JPEG.data}
    assert one["features"] == [{"type_": vision.DOCUMENT_TEXT_DETECTION, "max_results": 3}]
    assert one["image_context"] == {"language_hints": ["ja"]}
    with pytest.raises(Unsupported):
        vision.to_vendor(Task.VISION_LABELS, image(media=Media(data=b"x", format="heic")))


def test_labels_sorted_and_cut() -> None:
    batch = annotated(
        '{"responses": [{"labelAnnotations": [{"mid": "/m/0dx1j", "description": "Town", "score": 0.84},'
        '{"mid": "/m/01c8br", "description": "Street", "score": 0.87}, {"description": "Night", "score": 0.8}]}]}'
    )
    result = vision.from_vendor(Task.VISION_LABELS, vision.first_response(batch), image(max_results=2))
    assert [(lb.name, lb.confidence) for lb in result.labels] == [  # type: ignore[union-attr]
        ("Street", pytest.approx(0.87)),
        ("Town", pytest.approx(0.84)),
    ]


def test_face_vertices_with_omitted_zeros_become_fractions() -> None:
    batch = annotated(
        '{"responses": [{"faceAnnotations": [{"boundingPoly": {"vertices": [{"y": 5}, {"x": 180, "y": 5},'
        '{"x": 180, "y": 95}, {"y": 95}]}, "fdBoundingPoly": {"vertices": [{"y": 10}, {"x": 100, "y": 10},'
        '{"x": 100, "y": 90}, {"y": 90}]}, "landmarks": [{"type": "LEFT_EYE", "position": {"x": 30, "y": 40}},'
        '{"type": 8, "position": {"x": 50, "y": 50, "z": 1.5}}], "detectionConfidence": 0.93}]}]}'
    )
    result = vision.from_vendor(Task.VISION_FACES, vision.first_response(batch), image())
    face = result.faces[0]  # type: ignore[union-attr]
    assert (face.box.left, face.box.top, face.box.width, face.box.height) == (0.0, 0.1, 0.5, pytest.approx(0.8))
    assert face.landmarks is not None
    assert [(m.type, m.x, m.y) for m in face.landmarks] == [("left_eye", 0.15, 0.4), ("nose_tip", 0.25, 0.5)]


def test_objects_from_normalized_vertices() -> None:
    batch = annotated(
        '{"responses": [{"localizedObjectAnnotations": [{"name": "Bicycle", "score": 0.886761, "boundingPoly":'
        '{"normalizedVertices": [{"x": 0.312, "y": 0.6616471}, {"x": 0.638353, "y": 0.6616471},'
        '{"x": 0.638353, "y": 0.9705882}, {"x": 0.312, "y": 0.9705882}]}}]}]}'
    )
    obj = vision.from_vendor(Task.VISION_OBJECTS, vision.first_response(batch), image()).objects[0]  # type: ignore[union-attr]
    assert obj.name == "Bicycle" and obj.box.left == pytest.approx(0.312) and obj.box.height == pytest.approx(0.3089411)


def _word(text: str, brk: str | None, x: int, conf: float = 0.9) -> str:
    prop = f', "property": {{"detectedBreak": {{"type": "{brk}"}}}}' if brk else ""
    symbols = ",".join(f'{{"text": "{c}"}}' for c in text[:-1]) + (", " if len(text) > 1 else "")
    symbols += f'{{"text": "{text[-1]}"{prop}}}'
    corners = [(x, 10), (x + 20, 10), (x + 20, 30), (x, 30)]
    box = json.dumps({"vertices": [{"x": cx, "y": cy} for cx, cy in corners]})
    return f'{{"boundingBox": {box}, "symbols": [{symbols}], "confidence": {conf}}}'


def test_ocr_lines_follow_detected_breaks() -> None:
    words = [
        _word("Hello", "SPACE", 0),
        _word("wor", "HYPHEN", 40),
        _word("ld", "LINE_BREAK", 0, 0.7),
        _word("Bye", None, 60),
    ]
    paragraph = f'{{"paragraphs": [{{"words": [{",".join(words)}]}}]}}'
    body = f'{{"pages": [{{"width": 200, "height": 100, "blocks": [{paragraph}]}}]}}'
    batch = annotated(f'{{"responses": [{{"fullTextAnnotation": {body}}}]}}')
    result = vision.ocr_result(vision.first_response(batch), None)
    assert [line.text for line in result.lines] == ["Hello wor-", "ld", "Bye"]
    assert result.text == "Hello wor-\nld\nBye"
    first = result.lines[0]
    assert first.box is not None and (first.box.left, first.box.width) == (0.0, 0.3)
    assert result.lines[0].confidence == pytest.approx(0.9) and result.lines[1].confidence == pytest.approx(0.7)
    assert result.image is not None and result.image.width == 200  # from the page when the gateway had none


def test_safe_search_likelihoods_as_names_or_numbers() -> None:
    batch = annotated(
        '{"responses": [{"safeSearchAnnotation": {"adult": "UNLIKELY", "spoof": "VERY_UNLIKELY",'
        '"medical": 3, "violence": "LIKELY", "racy": "VERY_LIKELY"}}]}'
    )
    result = vision.from_vendor(Task.VISION_MODERATION, vision.first_response(batch), image())
    assert [(f.category, f.confidence) for f in result.flags] == [  # type: ignore[union-attr]
        ("racy", 0.95),
        ("violence", 0.75),
        ("medical", 0.5),
    ]


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (3, UpstreamBadResponse),
        (7, UpstreamAuth),
        (8, UpstreamThrottled),
        (14, UpstreamUnavailable),
        (4, UpstreamTimeout),
    ],
)
def test_an_error_inside_a_200_is_an_error_with_fallback(code: int, cls: type[Exception]) -> None:
    batch = annotated(f'{{"responses": [{{"error": {{"code": {code}, "message": "Bad image data."}}}}]}}')
    with pytest.raises(cls) as info:
        vision.first_response(batch)
    assert info.value.fallback  # type: ignore[attr-defined]


# --- natural language ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "magnitude", "label"),
    [
        (0.8, 3.0, "positive"),
        (0.25, 0.3, "positive"),
        (-0.6, 4.0, "negative"),
        (0.1, 0.0, "neutral"),
        (0.0, 4.0, "mixed"),
    ],
)
def test_sentiment_thresholds(score: float, magnitude: float, label: str) -> None:
    """Google's documented examples (clearly positive, negative, neutral, mixed): the label, and
    the scores read from Google's one signed score; neutral and mixed have no number of Google's."""
    got, scores = language.sentiment_scores(score, magnitude)
    assert got == label
    assert scores.positive == pytest.approx(max(score, 0.0)) and scores.negative == pytest.approx(max(-score, 0.0))
    assert scores.neutral is None and scores.mixed is None


@pytest.mark.parametrize(("encoding", "unit_of"), [(language.UTF8, "utf-8"), (language.UTF16, "utf-16-le")])
def test_entity_offsets_are_code_points_whatever_the_encoding(encoding: int, unit_of: str) -> None:
    text = "Ça va 🙂 with Tim Cook in Zürich"
    at = text.index("Tim Cook")
    raw_offset = len(text[:at].encode(unit_of)) // (2 if unit_of.startswith("utf-16") else 1)
    body = (
        '{"entities": [{"name": "Tim Cook", "type": 1, "mentions": [{"text": {"content": "Tim Cook",'
        f'"beginOffset": {raw_offset}}}, "probability": 0.97}}]}},'
        '{"name": "Zürich", "type": "ADDRESS", "mentions": [{"text": {"content": "Zürich", "beginOffset": -1}}]}]}'
    )
    response = parse(language_v2.AnalyzeEntitiesResponse, body)
    result = language.entities_result(response, text, encoding)
    assert [(e.text, e.begin, e.type, e.vendor_type) for e in result.entities] == [
        ("Tim Cook", at, "PERSON", "PERSON"),
        ("Zürich", text.index("Zürich"), "LOCATION", "ADDRESS"),  # no usable offset: placed by its text
    ]
    assert result.entities[0].confidence == pytest.approx(0.97)


def test_text_request_asks_for_code_point_offsets() -> None:
    body = language.to_vendor(TextRequest(text="Hola", language="es"))
    assert body == {"document": {"type_": 1, "content": "Hola", "language_code": "es"}, "encoding_type": language.UTF32}
    with pytest.raises(InvalidInput):
        language.to_vendor(TextRequest(text="  "))


def test_moderation_categories_map_to_the_fixed_set() -> None:
    body = (
        '{"moderationCategories": [{"name": "Toxic", "confidence": 0.91}, {"name": "Derogatory", "confidence": 0.4},'
        '{"name": "Finance", "confidence": 0.99}, {"name": "Death, Harm & Tragedy", "confidence": 0.2}]}'
    )
    response = parse(language_v2.ModerateTextResponse, body)
    result = language.from_vendor(Task.TEXT_MODERATION, response, TextRequest(text="x"))
    assert isinstance(result, TextModerationResult) and result.flagged
    assert [(f.category, f.confidence, f.vendor_category) for f in result.flags] == [
        ("toxicity", 0.91, "Toxic"),
        ("hate", 0.4, "Derogatory"),
        ("other", 0.2, "Death, Harm & Tragedy"),
    ]
    calm = '{"moderationCategories": [{"name": "Toxic", "confidence": 0.1}, {"name": "Health", "confidence": 0.9}]}'
    benign = language.from_vendor(
        Task.TEXT_MODERATION, parse(language_v2.ModerateTextResponse, calm), TextRequest(text="x")
    )
    assert not benign.flagged  # type: ignore[union-attr]  # a topic is not a harm
    assert "encoding_type" not in language.moderation_to_vendor(TextRequest(text="x"))


# --- translation, speech ---------------------------------------------------------------------


def test_translate_returns_the_detected_source() -> None:
    req = TranslateRequest(text="Good morning", target_language="pt-br")
    body = translate.to_vendor(req, "projects/p/locations/global")
    assert body["target_language_code"] == "pt-BR" and "source_language_code" not in body
    answer = parse(
        translate_v3.TranslateTextResponse,
        '{"translations": [{"translatedText": "Bom dia", "detectedLanguageCode": "en"}]}',
    )
    result = translate.from_vendor(answer, req)
    assert (result.text, result.source_language, result.target_language) == ("Bom dia", "en", "pt-BR")
    with pytest.raises(InvalidInput) as info:
        translate.to_vendor(TranslateRequest(text="x", target_language="es", source_language="xx-yy-zz"), "p")
    assert info.value.field == "source_language"


def test_recognize_words_from_string_durations() -> None:
    answer = parse(
        speech_v1.RecognizeResponse,
        '{"results": [{"alternatives": [{"transcript": "how old is", "confidence": 0.98, "words": ['
        '{"startTime": "0s", "endTime": "0.300s", "word": "how", "confidence": 0.9},'
        '{"startTime": "0.300s", "endTime": "1.300s", "word": "old"}]}], "languageCode": "en-us"}]}',
    )
    result = speech.from_vendor(answer)
    assert result.text == "how old is" and result.language == "en-US"
    assert [(w.text, w.start, w.end, w.confidence) for w in result.words] == [
        ("how", 0.0, 0.3, pytest.approx(0.9)),
        ("old", 0.3, 1.3, None),  # no word confidence: null (Google's 0.0 means "not set")
    ]


def test_long_audio_is_refused_naming_the_limit() -> None:
    media = Media(data=b"RIFF0000WAVE", format="wav", duration_s=75.0)
    with pytest.raises(PayloadTooLarge, match="at most 60 s"):
        speech.to_vendor(TranscribeRequest(audio=media))
    body = speech.to_vendor(TranscribeRequest(audio=Media(data=b"RIFF", format="wav", duration_s=3.0), language="fr"))
    assert body["config"]["language_code"] == "fr-FR" and "encoding" not in body["config"]


def test_voice_choice_and_its_price() -> None:
    chosen = tts.to_vendor(SynthesizeRequest(text="Hi", language="en-GB", gender="male", format="mp3"))
    assert chosen["voice"] == {"language_code": "en-GB", "name": "en-GB-Neural2-B"}
    assert chosen["audio_config"]["audio_encoding"] == "MP3"
    named = tts.to_vendor(SynthesizeRequest(text="Hi", voice="de-DE-Studio-B"))
    assert named["voice"] == {"language_code": "de-DE", "name": "de-DE-Studio-B"}
    picked = tts.to_vendor(SynthesizeRequest(text="Hi", language="sv"))
    assert picked["voice"] == {"language_code": "sv", "ssml_gender": "FEMALE"}
    assert (tts.family("de-DE-Studio-B"), tts.family(None)) == ("studio", "standard")
    assert voice_price("studio").cost(1000) == pytest.approx(0.16)
    with pytest.raises(Unsupported):
        tts.to_vendor(SynthesizeRequest(text="Hi", format="flac"))


def test_prices_per_unit() -> None:
    prices = load_prices({"vision.labels": {"usd": 0.001}})
    assert prices[Task.VISION_LABELS].cost(1) == 0.001
    assert prices[Task.VISION_OBJECTS].cost(1) == 0.00225
    assert prices[Task.TEXT_SENTIMENT].cost(1001) == pytest.approx(0.002)  # two 1,000-character units
    assert prices[Task.TEXT_TRANSLATE].cost(500) == pytest.approx(0.01)
    assert prices[Task.TEXT_MODERATION].cost(10) == pytest.approx(0.0005)
    assert prices[Task.SPEECH_TRANSCRIBE].cost(16) == pytest.approx(0.012)  # two 15 s increments


# --- errors ----------------------------------------------------------------------------------


def _api_error(cls_name: str, message: str, reason: str | None = None, headers: dict[str, str] | None = None) -> Any:
    from google.api_core import exceptions as gx

    class Response:
        def __init__(self) -> None:
            self.headers = headers or {}

    details: list[Any] = []
    exc = getattr(gx, cls_name)(message, details=details, response=Response())
    if reason:
        exc._error_info = type("Info", (), {"reason": reason, "domain": "googleapis.com", "metadata": {}})()
    return exc


def test_error_mapping() -> None:
    import requests
    from google.protobuf.json_format import ParseError

    assert isinstance(errors.classify(_api_error("BadRequest", "Request must specify image")), InvalidInput)
    assert isinstance(errors.classify(_api_error("BadRequest", "API key not valid.")), UpstreamAuth)
    assert isinstance(errors.classify(_api_error("Forbidden", "denied")), UpstreamAuth)
    throttled = errors.classify(_api_error("TooManyRequests", "quota", headers={"Retry-After": "7"}))
    assert isinstance(throttled, UpstreamThrottled) and throttled.retry_after_s == 7.0
    assert isinstance(errors.classify(_api_error("ServiceUnavailable", "down")), UpstreamUnavailable)
    assert isinstance(errors.classify(requests.ReadTimeout("slow")), UpstreamTimeout)
    assert isinstance(errors.classify(requests.ConnectionError("refused")), UpstreamUnavailable)
    assert isinstance(errors.classify(ParseError("bad json")), UpstreamBadResponse)
    assert errors.classify(KeyError("x")) is None


# --- config, registry ------------------------------------------------------------------------


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"providers\.gcp: .*endpoints"):
        parse_config(GoogleConfig, "gcp", {"kind": "google", "endpoints": {"visoin": "http://x"}})
    with pytest.raises(ValueError, match=r"providers\.gcp\.projcet: unknown key \(did you mean 'project'"):
        parse_config(GoogleConfig, "gcp", {"kind": "google", "projcet": "p"})
    cfg = parse_config(
        GoogleConfig, "gcp", {"kind": "google", "endpoint": "127.0.0.1:9", "endpoints": {"speech": "http://s"}}
    )
    assert (cfg.endpoint_for("speech"), cfg.endpoint_for("vision")) == ("http://s", "https://127.0.0.1:9")


BAD_VERTEX = """
version: 1
providers:
  flowers:
    {kind: vertex, project: p, endpoint_id: "1", task: vision.labels, schema: custom, mapping: {instance: "a..b"}}
  sent: {kind: vertex, project: p, endpoint_id: "2", task: text.sentiment, schema: image_classification}
  ok:
    kind: vertex
    project: p
    endpoint_id: "3"
    task: text.sentiment
    schema: custom
    mapping: {instance: text, score: out.s, score_range: signed}
routes:
  "*": {candidates: [ok]}
"""


def test_policy_check_refuses_a_bad_vertex_declaration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_VERTEX)
    assert main(["policy", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "providers.flowers.mapping: mapping.instance: 'a..b' is not a field name or dotted path" in out
    assert "providers.sent: schema image_classification serves vision.labels, not text.sentiment" in out
    assert "providers.ok" not in out


def test_a_gateway_without_google_never_imports_a_google_library() -> None:
    code = (
        "import sys, adapters.registry as r, adapters.google.provider as p, adapters.google.vertex as v;"
        "r.build('gcp', {'kind': 'google', 'project': 'p', 'credentials': 'anonymous'});"
        "r.build('v', {'kind': 'vertex', 'project': 'p', 'endpoint_id': '1', 'task': 'vision.labels',"
        " 'schema': 'image_classification', 'credentials': 'anonymous'});"
        "r.check({'kind': 'google', 'project': 'p'});"
        "bad = [m for m in sys.modules if m.startswith(('google.cloud.', 'google.api_core', 'google.auth'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_provider_declares_prices_for_every_task_and_skips_key_phrases() -> None:
    provider = registry.build("gcp", {"kind": "google", "project": "p", "credentials": "anonymous"})
    assert Task.TEXT_KEY_PHRASES not in provider.info.capabilities
    assert set(provider.info.prices) >= set(provider.info.capabilities)


def test_a_serving_gateway_without_google_never_imports_a_google_library(tmp_path: Path) -> None:
    """The whole gateway, started and answering, with a policy that names no Google provider."""
    policy = tmp_path / "policy.yaml"
    kind = "contract_tests.scripted_provider:ScriptedProvider"
    policy.write_text(f'version: 1\nproviders: {{p: {{kind: "{kind}"}}}}\nroutes: {{"*": {{candidates: [p]}}}}\n')
    code = (
        "import sys\n"
        "from litestar.testing import TestClient\n"
        "from gateway.server import GatewayConfig, create_app\n"
        "from gateway.server.config import LogSettings\n"
        f"config = GatewayConfig(policy={str(policy)!r}, logs=LogSettings(sink='none'))\n"
        "with TestClient(create_app(config)) as client:\n"
        "    assert client.post('/v1/text/sentiment', json={'text': 'hi'}).status_code == 200\n"
        "bad = [m for m in sys.modules if m.startswith(('google.cloud.', 'google.api_core', 'google.auth'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize(("no_proxy", "expected"), [("", "http://proxy.example:3128"), ("127.0.0.1", None)])
def test_proxy_settings_are_read_once_per_client(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, expected: str | None
) -> None:
    from adapters.google.clients import GoogleClients

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    config = parse_config(
        GoogleConfig, "gcp", {"kind": "google", "endpoint": "http://127.0.0.1:9", "credentials": "anonymous"}
    )
    clients = GoogleClients("gcp", config)
    session = clients.client("vision")._transport._session
    assert session.trust_env is False and session.proxies.get("http") == expected
    clients.close()


def test_speech_speakers_config_and_documented_diarized_response() -> None:
    media = Media(data=b"RIFF", format="wav", duration_s=3.0)
    config = speech.to_vendor(TranscribeRequest(audio=media, speakers=3))["config"]
    assert config["diarization_config"] == {
        "enable_speaker_diarization": True,
        "min_speaker_count": 3,
        "max_speaker_count": 3,
    }
    assert speech.to_vendor(TranscribeRequest(audio=media, speakers=True))["config"]["diarization_config"] == {
        "enable_speaker_diarization": True
    }
    assert "diarization_config" not in speech.to_vendor(TranscribeRequest(audio=media))["config"]
    # The documented shape: results with transcripts, then a last result of every word with its speakerTag.
    body = (
        '{"results": [{"alternatives": [{"transcript": "hi there", "confidence": 0.9, "words": ['
        '{"word": "hi", "startTime": "0s", "endTime": "0.4s"}, {"word": "there", "startTime": "0.5s", "endTime": "1s"}'
        ']}]}, {"alternatives": [{"words": ['
        '{"word": "hi", "startTime": "0s", "endTime": "0.4s", "speakerTag": 2},'
        '{"word": "there", "startTime": "0.5s", "endTime": "1s", "speakerTag": 1}]}]}]}'
    )
    result = speech.from_vendor(parse(speech_v1.RecognizeResponse, body))
    assert result.text == "hi there" and [w.text for w in result.words] == ["hi", "there"]
    assert [(s.speaker, s.text, s.start_s, s.end_s) for s in result.segments or ()] == [
        ("S1", "hi", 0.0, 0.4),
        ("S2", "there", 0.5, 1.0),
    ]

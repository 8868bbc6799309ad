"""Unit tests of the Azure adapter's pure parts (on Azure's documented examples), its config,
error mapping and prices, plus the behaviours a user sees through the fake: Read polling
within the deadline, chunked uploads, long audio refused, Retry-After honoured."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from adapters import registry
from adapters.azure import contentsafety, errors, language, read, speech, translator, vision
from adapters.azure.config import AzureConfig
from adapters.azure.prices import load_prices
from adapters.azure.provider import AzureProvider, capabilities
from adapters.base import CallContext
from adapters.kit import parse_config
from contract_tests import samples
from contract_tests.abstract.base import image_request
from contract_tests.conftest_azure import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_azure import azure_block
from contract_tests.fakes import azure_examples as ex
from contract_tests.fakes.azure import AzureFake, azure_error
from contract_tests.fakes.scripted import Reply
from omnisense.schema import (
    ImageRequest,
    InvalidInput,
    Media,
    PayloadTooLarge,
    SynthesizeRequest,
    Task,
    TextRequest,
    TranscribeRequest,
    TranslateRequest,
    Unsupported,
    UnsupportedMediaType,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

JPEG = Media(data=b"\xff\xd8\xff" + b"0" * 100, format="jpeg", width=640, height=480)
IMAGE = samples.jpeg(128, 96)


def image(**kw: Any) -> ImageRequest:
    return ImageRequest(image=kw.pop("media", JPEG), **kw)


def ctx(seconds: float = 10.0) -> CallContext:
    return CallContext(request_id="unit", deadline=time.monotonic() + seconds)


# --- Computer Vision -----------------------------------------------------------------------


def analyzed(feature: str) -> dict[str, Any]:
    return {**ex.ANALYZE, **ex.ANALYZE_FEATURES[feature]}


def test_objects_are_pixel_rectangles_scaled_by_the_reported_size() -> None:
    result = vision.from_vendor(Task.VISION_OBJECTS, analyzed("Objects"), image())
    obj = result.objects[0]  # type: ignore[union-attr]
    assert obj.name == "tree" and obj.confidence == 0.9
    assert (obj.box.left, obj.box.top) == (0.0, 0.0)
    assert obj.box.width == pytest.approx(50 / 1500) and obj.box.height == pytest.approx(50 / 1000)
    assert result.image is not None and (result.image.width, result.image.height) == (1500, 1000)


def test_faces_have_boxes_and_no_vendor_confidence() -> None:
    face = vision.from_vendor(Task.VISION_FACES, analyzed("Faces"), image()).faces[0]  # type: ignore[union-attr]
    assert face.confidence is None and face.landmarks is None  # v3.2 gives no face confidence: null
    assert face.box.left == pytest.approx(593 / 1500) and face.box.width == pytest.approx(250 / 1500)


def test_labels_best_first_and_max_results() -> None:
    result = vision.from_vendor(Task.VISION_LABELS, analyzed("Tags"), image(max_results=2))
    assert [lb.name for lb in result.labels] == ["person", "man"]  # type: ignore[union-attr]


def test_moderation_flags_azure_booleans_and_scores_over_the_threshold() -> None:
    quiet = vision.from_vendor(Task.VISION_MODERATION, analyzed("Adult"), image())
    assert quiet.flags == []  # type: ignore[union-attr]
    low = vision.from_vendor(Task.VISION_MODERATION, analyzed("Adult"), image(min_confidence=0.05))
    assert [(f.category, round(f.confidence, 3)) for f in low.flags] == [("adult", 0.093), ("racy", 0.069)]  # type: ignore[union-attr]
    racy = {**ex.ANALYZE, "adult": {**ex.ANALYZE_FEATURES["Adult"]["adult"], "isRacyContent": True}}
    assert [f.category for f in vision.from_vendor(Task.VISION_MODERATION, racy, image()).flags] == ["racy"]  # type: ignore[union-attr]


def test_image_limits_are_checked_before_the_call() -> None:
    with pytest.raises(Unsupported, match="50x50"):
        vision.to_vendor(Task.VISION_LABELS, image(media=Media(data=b"x", format="jpeg", width=64, height=48)))
    with pytest.raises(Unsupported, match="webp"):
        vision.to_vendor(Task.VISION_LABELS, image(media=Media(data=b"x", format="webp", width=64, height=64)))
    big = Media(data=b"0" * (4 * 1024 * 1024 + 1), format="png", width=100, height=100)
    with pytest.raises(PayloadTooLarge):
        vision.to_vendor(Task.VISION_LABELS, image(media=big))


def test_read_lines_from_the_documented_result() -> None:
    result = read.from_vendor(ex.READ_RESULT, image())
    assert result.text == "Our greatest glory is not\nin never failing ,"
    assert result.lines[0].confidence == pytest.approx(0.164)
    assert result.lines[1].confidence == pytest.approx((0.164 * 3 + 0.999) / 4)
    # The spec example's corners lie past its own 600x400 page: they are clipped, not refused.
    for line in result.lines:
        assert line.box is not None and line.box.left + line.box.width <= 1.0


def test_read_box_is_the_upright_rectangle_around_rotated_corners() -> None:
    page = {"width": 1000, "height": 500}
    box = read.line_box({"boundingBox": [100, 50, 300, 60, 295, 110, 98, 100]}, page)
    assert box is not None
    assert (box.left, box.top) == pytest.approx((0.098, 0.1))
    assert (box.width, box.height) == pytest.approx((0.202, 0.12))
    assert read.operation_id("https://x/vision/v3.2/read/analyzeResults/abc-1") == "abc-1"


# --- Language ------------------------------------------------------------------------------


def response(kind: str, docs: list[dict[str, Any]], errs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"kind": f"{kind}Results", "results": {"documents": docs, "errors": errs or [], "modelVersion": "x"}}


def test_sentiment_scores_are_azures_three_and_no_mixed() -> None:
    doc = {"id": "1", "sentiment": "mixed", "confidenceScores": {"positive": 0.6, "neutral": 0.1, "negative": 0.3}}
    result = language.from_vendor(Task.TEXT_SENTIMENT, response("SentimentAnalysis", [doc]), TextRequest(text="x"))
    s = result.scores  # type: ignore[union-attr]
    assert result.label == "mixed"  # type: ignore[union-attr]
    assert (s.positive, s.negative, s.neutral, s.mixed) == (0.6, 0.3, 0.1, None)  # Azure has no mixed score
    doc = {"id": "1", "sentiment": "positive", "confidenceScores": {"positive": 0.9, "neutral": 0.1, "negative": 0.0}}
    s = language.from_vendor(Task.TEXT_SENTIMENT, response("SentimentAnalysis", [doc]), TextRequest(text="x")).scores  # type: ignore[union-attr]
    assert (s.positive, s.mixed) == (0.9, None)


def test_entities_from_the_documented_example() -> None:
    text = "Microsoft was founded by Bill Gates and Paul Allen."
    docs = [
        {
            "id": "1",
            "entities": [
                {"category": "Organization", "confidenceScore": 0.84, "length": 9, "offset": 0, "text": "Microsoft"},
                {"category": "Person", "confidenceScore": 0.85, "length": 10, "offset": 25, "text": "Bill Gates"},
                {"category": "Skill", "confidenceScore": 0.5, "length": 4, "offset": 46, "text": "Alle"},
            ],
        }
    ]
    ents = language.from_vendor(Task.TEXT_ENTITIES, response("EntityRecognition", docs), TextRequest(text=text))
    got = [(e.text, e.type, e.vendor_type, e.begin) for e in ents.entities]  # type: ignore[union-attr]
    assert got == [
        ("Microsoft", "ORGANIZATION", "Organization", 0),
        ("Bill Gates", "PERSON", "Person", 25),
        ("Alle", "OTHER", "Skill", 45),  # offsets that do not match are re-placed by the text
    ]


def test_key_phrases_are_located_in_the_text() -> None:
    text = "Microsoft was founded by Bill Gates and Paul Allen."
    docs = [{"id": "1", "keyPhrases": ["Bill Gates", "Paul Allen", "Microsoft", "not in the text"]}]
    out = language.from_vendor(Task.TEXT_KEY_PHRASES, response("KeyPhraseExtraction", docs), TextRequest(text=text))
    assert [(p.text, p.begin, p.end) for p in out.phrases] == [  # type: ignore[union-attr]
        ("Bill Gates", 25, 35),
        ("Paul Allen", 40, 50),
        ("Microsoft", 0, 9),
    ]


def test_language_unknown_is_an_empty_list() -> None:
    doc = {"id": "1", "detectedLanguage": {"name": "(Unknown)", "iso6391Name": "(Unknown)", "confidenceScore": 0.0}}
    out = language.from_vendor(Task.TEXT_LANGUAGE, response("LanguageDetection", [doc]), TextRequest(text="x"))
    assert out.languages == []  # type: ignore[union-attr]


def test_a_document_error_inside_a_200_is_an_error_never_an_empty_result() -> None:
    def failed(inner: str) -> dict[str, Any]:
        error = {"code": "InvalidArgument", "message": "m", "innererror": {"code": inner, "message": "m"}}
        return response("SentimentAnalysis", [], [{"id": "1", "error": error}])

    with pytest.raises(UpstreamBadResponse, match="InvalidDocument"):
        language.from_vendor(Task.TEXT_SENTIMENT, failed("InvalidDocument"), TextRequest(text="x"))
    with pytest.raises(Unsupported) as info:
        language.from_vendor(Task.TEXT_SENTIMENT, failed("UnsupportedLanguageCode"), TextRequest(text="x"))
    assert info.value.fallback


def test_language_limits() -> None:
    with pytest.raises(PayloadTooLarge):
        language.to_vendor(Task.TEXT_SENTIMENT, TextRequest(text="a" * 5121))
    with pytest.raises(InvalidInput):
        language.to_vendor(Task.TEXT_SENTIMENT, TextRequest(text="  "))
    kwargs = language.to_vendor(Task.TEXT_ENTITIES, TextRequest(text="hi", language="pt-BR"))
    assert kwargs["documents"] == [{"id": "1", "text": "hi", "language": "pt"}]


# --- Translator ----------------------------------------------------------------------------


def test_translator_codes_and_detected_source() -> None:
    assert [translator.language_code(t, "x") for t in ("pt-BR", "zh-TW", "en-US", "fr-CA", "sr-Latn")] == [
        "pt",
        "zh-Hant",
        "en",
        "fr-CA",
        "sr-Latn",
    ]
    params = translator.to_vendor(TranslateRequest(text="Hello", target_language="de"))
    assert params == {"body": ["Hello"], "to_language": ["de"]}
    answer = [{"detectedLanguage": {"language": "en", "score": 1.0}, "translations": [{"text": "Hallo", "to": "de"}]}]
    result = translator.from_vendor(answer, params)
    assert (result.text, result.source_language, result.target_language) == ("Hallo", "en", "de")


# --- Speech --------------------------------------------------------------------------------


def test_voice_choice_and_ssml() -> None:
    call = speech.synthesize_to_vendor(SynthesizeRequest(text="a < b & c", language="de", gender="male"))
    assert call["voice"] == "de-DE-ConradNeural"
    assert b"a &lt; b &amp; c" in call["data"] and b'xml:lang="de-DE"' in call["data"]
    assert call["headers"]["X-Microsoft-OutputFormat"] == "riff-24khz-16bit-mono-pcm"
    named = speech.synthesize_to_vendor(SynthesizeRequest(text="x", voice="en-GB-RyanNeural", format="mp3"))
    assert named["voice"] == "en-GB-RyanNeural" and b'xml:lang="en-GB"' in named["data"]
    with pytest.raises(Unsupported):
        speech.synthesize_to_vendor(SynthesizeRequest(text="x", language="xh"))
    with pytest.raises(Unsupported):
        speech.synthesize_to_vendor(SynthesizeRequest(text="x", format="flac"))


def test_recognition_ticks_and_statuses() -> None:
    answer = {
        "RecognitionStatus": "Success",
        "Offset": 1800000,
        "Duration": 12300000,
        "NBest": [
            {
                "Confidence": 0.97,
                "Lexical": "hello world",
                "Display": "Hello world.",
                "Words": [
                    {"Word": "hello", "Offset": 1800000, "Duration": 5000000},
                    {"Word": "world", "Offset": 7000000, "Duration": 7100000},
                ],
            }
        ],
    }
    result = speech.transcribe_from_vendor(answer, "en-US")
    assert result.text == "Hello world." and result.confidence == 0.97
    assert [(w.text, w.start, round(w.end, 2)) for w in result.words] == [("hello", 0.18, 0.68), ("world", 0.7, 1.41)]
    silent = speech.transcribe_from_vendor({"RecognitionStatus": "InitialSilenceTimeout"}, "en-US")
    assert (silent.text, silent.confidence) == ("", None)
    assert [w.confidence for w in result.words] == [None, None]  # no word confidence given: null
    # Azure's documented example: NBest is not sorted, the second alternative is the more confident.
    documented = speech.transcribe_from_vendor(ex.RECOGNITION, "en-US")  # numbers as strings
    assert documented.text == "what is the weather like" and documented.confidence == pytest.approx(0.92459863)


def test_recognition_content_type_carries_the_wav_rate() -> None:
    call = speech.transcribe_to_vendor(TranscribeRequest(audio=Media(data=samples.wav(0.1, rate=8000), format="wav")))
    assert call["headers"]["Content-Type"] == "audio/wav; codecs=audio/pcm; samplerate=8000"
    assert call["params"] == {"language": "en-US", "format": "detailed"}


def test_audio_over_a_minute_is_refused_naming_the_limit() -> None:
    long = TranscribeRequest(audio=Media(data=b"RIFF....", format="wav", duration_s=61.0))
    with pytest.raises(PayloadTooLarge, match="60 s") as info:
        speech.transcribe_to_vendor(long)
    assert info.value.field == "audio" and info.value.status == 413
    with pytest.raises(Unsupported):
        speech.transcribe_to_vendor(TranscribeRequest(audio=Media(data=b"x", format="mp3", duration_s=1.0)))


# --- Content Safety ------------------------------------------------------------------------


def test_content_safety_severities_to_confidences() -> None:
    answer = {
        "categoriesAnalysis": [
            {"category": "Hate", "severity": 0},
            {"category": "SelfHarm", "severity": 2},
            {"category": "Violence", "severity": 6},
        ]
    }
    result = contentsafety.text_result(answer)
    assert result.flagged
    got = [(f.category, round(f.confidence, 3), f.vendor_category) for f in result.flags]
    assert got == [("violence", 1.0, "Violence"), ("self_harm", 0.333, "SelfHarm"), ("hate", 0.0, "Hate")]
    low = contentsafety.text_result({"categoriesAnalysis": [{"category": "Sexual", "severity": 2}]})
    assert not low.flagged  # low severity: not flagged (Azure's default filter starts at medium)
    medium = contentsafety.text_result({"categoriesAnalysis": [{"category": "Hate", "severity": 4}]})
    assert medium.flagged
    documented = contentsafety.text_result(ex.TEXT_ANALYSIS)
    assert not documented.flagged and {f.category for f in documented.flags} == {
        "hate",
        "self_harm",
        "sexual",
        "violence",
    }


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": {"code": "401", "message": "Access denied"}}, ("401", "Access denied")),
        (
            {
                "error": {
                    "code": "InvalidRequest",
                    "message": "bad",
                    "innererror": {"code": "InvalidImageSize", "message": "too big"},
                }
            },
            ("InvalidImageSize", "too big"),
        ),
        ({"code": "Forbidden", "message": "quota"}, ("Forbidden", "quota")),
        ({"statusCode": 429, "message": "Rate limit"}, ("429", "Rate limit")),
        ({"error": {"code": 403001, "message": "free quota"}}, ("403001", "free quota")),
        (b"", ("", "")),
        (b"<html>oops</html>", ("", "<html>oops</html>")),
    ],
)
def test_every_azure_error_body_shape_parses(body: Any, expected: tuple[str, str]) -> None:
    assert errors.parse_error_body(body) == expected


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "401", UpstreamAuth),
        (403, "403001", UpstreamAuth),
        (429, "429001", UpstreamThrottled),
        (400, "InvalidImageFormat", UnsupportedMediaType),
        (400, "InvalidImageSize", PayloadTooLarge),
        (400, "400036", Unsupported),
        (400, "400050", InvalidInput),
        (503, "", UpstreamUnavailable),
        (504, "", UpstreamTimeout),
        (0, "429000", UpstreamThrottled),
    ],
)
def test_error_classes(status: int, code: str, cls: type[Exception]) -> None:
    assert type(errors.error_for(status, code, "m")) is cls


def test_retry_after_is_read_in_seconds_or_milliseconds() -> None:
    assert errors.error_for(429, "429", "m", {"Retry-After": "7"}).retry_after_s == 7.0
    assert errors.error_for(429, "", "m", {"x-ms-retry-after-ms": "1500"}).retry_after_s == 1.5


# --- config, capabilities, prices, imports -------------------------------------------------


def test_config_paths_and_endpoints() -> None:
    with pytest.raises(ValueError, match=r"providers\.az.*(did you mean 'endpoint'\?)"):
        parse_config(AzureConfig, "az", {"kind": "azure", "endpont": "https://x.cognitiveservices.azure.com"})
    with pytest.raises(ValueError, match="key"):
        parse_config(AzureConfig, "az", {"kind": "azure", "endpoint": "https://x.cognitiveservices.azure.com"})
    cloud = AzureConfig(endpoint="https://my-ai.cognitiveservices.azure.com/", key="k", region="westeurope")
    assert cloud.endpoint_for("vision") == "https://my-ai.cognitiveservices.azure.com"
    assert cloud.endpoint_for("translator") == "https://api.cognitive.microsofttranslator.com"
    assert cloud.speech_url("stt") == "https://westeurope.stt.speech.microsoft.com"
    assert cloud.speech_url("tts") == "https://westeurope.tts.speech.microsoft.com"
    local = AzureConfig(endpoint="http://127.0.0.1:9200", key="test", endpoints={"speech": "http://s"})
    assert local.endpoint_for("translator") == "http://127.0.0.1:9200" and local.speech_url("stt") == "http://s"
    assert AzureConfig(endpoint="https://x.cognitiveservices.azure.com", credential="entra").serves("vision")


def test_only_reachable_services_are_declared() -> None:
    translator_only = AzureConfig(endpoints={"translator": "https://api.cognitive.microsofttranslator.com"}, key="k")
    assert set(capabilities(translator_only)) == {Task.TEXT_TRANSLATE}
    no_region = AzureConfig(endpoint="https://x.cognitiveservices.azure.com", key="k")
    assert Task.SPEECH_TRANSCRIBE not in capabilities(no_region) and Task.VISION_OCR in capabilities(no_region)
    cs = AzureConfig(endpoint="https://x.cognitiveservices.azure.com", key="k", vision_moderation="content_safety")
    assert capabilities(cs)[Task.VISION_MODERATION].model == contentsafety.MODEL


def test_prices_per_vendor_unit() -> None:
    prices = load_prices()
    assert prices[Task.VISION_LABELS].cost(1) == pytest.approx(0.001)
    assert prices[Task.TEXT_SENTIMENT].cost(1) == pytest.approx(0.001)  # one text record
    assert prices[Task.TEXT_SENTIMENT].cost(1001) == pytest.approx(0.002)  # two records
    assert prices[Task.TEXT_TRANSLATE].cost(1_000_000) == pytest.approx(10.0)
    assert prices[Task.SPEECH_TRANSCRIBE].cost(3600) == pytest.approx(1.0)
    assert prices[Task.SPEECH_SYNTHESIZE].cost(1000) == pytest.approx(0.015)
    assert load_prices(content_safety_images=True)[Task.VISION_MODERATION].cost(1) == pytest.approx(0.00075)
    assert load_prices({"text.translate": {"usd": 8.0}})[Task.TEXT_TRANSLATE].cost(1_000_000) == pytest.approx(8.0)


def test_registry_does_not_import_the_azure_sdks() -> None:
    code = (
        "import sys, adapters.registry as r, adapters.azure.provider as p;"
        "r.check({'kind': 'azure', 'endpoint': 'https://x.cognitiveservices.azure.com', 'key': 'k'});"
        "r.build('azure', {'kind': 'azure', 'endpoint': 'https://x.cognitiveservices.azure.com', 'key': 'k'});"
        "bad = [m for m in sys.modules if m.startswith(('azure', 'msrest'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- through the fake ----------------------------------------------------------------------


async def test_images_are_uploaded_chunked_and_arrive_whole(
    azure_provider: AzureProvider, azure_fake: AzureFake
) -> None:
    azure_fake.reset()
    await azure_provider.run(Task.VISION_LABELS, image_request(IMAGE), ctx())
    (call,) = azure_fake.calls("analyze")
    assert call.headers.get("Transfer-Encoding") == "chunked" and call.body == IMAGE
    assert call.query["visualFeatures"] == "Tags" and call.headers["Ocp-Apim-Subscription-Key"] == "test-key"


async def test_read_polls_until_done(azure_provider: AzureProvider, azure_fake: AzureFake) -> None:
    azure_fake.reset()
    out = await azure_provider.run(Task.VISION_OCR, image_request(IMAGE), ctx())
    assert "Our greatest glory" in out.result.text  # type: ignore[union-attr]
    assert len(azure_fake.calls("read")) == 1 and len(azure_fake.calls("read_result")) == 2  # running, succeeded


async def test_read_still_running_at_the_deadline_is_a_timeout(azure_fake: AzureFake) -> None:
    provider = registry.build("azure-read", azure_block(azure_fake.url, read_poll_s=0.2))
    running = Reply(json=ex.READ_RUNNING)
    azure_fake.reset()
    azure_fake.fail("read_result", *[running] * 20)
    try:
        start = time.monotonic()
        with pytest.raises(UpstreamTimeout, match="still running"):
            await provider.run(Task.VISION_OCR, image_request(IMAGE), ctx(1.0))
        assert time.monotonic() - start < 1.5
    finally:
        azure_fake.reset()
        await provider.aclose()


async def test_wrong_key_is_upstream_auth(azure_fake: AzureFake) -> None:
    provider = registry.build("azure-badkey", azure_block(azure_fake.url, key="wrong"))
    try:
        with pytest.raises(UpstreamAuth, match="Access denied"):
            await provider.run(Task.TEXT_SENTIMENT, TextRequest(text="good", language="en"), ctx())
        health = await provider.probe()  # a one-character translate checks the key (/languages would not)
        assert not health.ok and "UpstreamAuth" in health.detail
    finally:
        await provider.aclose()


async def test_throttle_carries_retry_after(azure_failing_provider: AzureProvider, azure_fake: AzureFake) -> None:
    azure_fake.reset()
    azure_fake.fail("language", azure_error(429, "429", "Rate limit is exceeded.", **{"Retry-After": "3"}))
    with pytest.raises(UpstreamThrottled) as info:
        await azure_failing_provider.run(Task.TEXT_LANGUAGE, TextRequest(text="hello there"), ctx())
    assert info.value.retry_after_s == 3.0
    azure_fake.reset()


async def test_unsupported_language_answer_falls_back(azure_provider: AzureProvider) -> None:
    with pytest.raises(Unsupported) as info:
        await azure_provider.run(Task.TEXT_SENTIMENT, TextRequest(text="Habari yako", language="sw"), ctx())
    assert info.value.fallback and info.value.provider in (None, "azure")  # the dispatcher names it


async def test_probe_against_the_fake(azure_provider: AzureProvider) -> None:
    health = await azure_provider.probe()
    assert health.ok and health.detail == "translator: one-character translate answered (key checked)"

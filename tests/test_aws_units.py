"""Unit tests of the AWS adapter's pure parts: to_vendor/from_vendor, errors, prices, config."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import wave
from typing import Any

import pytest

from adapters import registry
from adapters.aws import comprehend, errors, polly, rekognition, textract, transcribe, translate
from adapters.aws.common import box, span
from adapters.aws.config import AwsConfig
from adapters.aws.prices import load_prices
from adapters.aws.provider import capabilities
from adapters.base import CallContext
from adapters.kit import parse_config
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


def image(**kw: Any) -> ImageRequest:
    return ImageRequest(image=kw.pop("media", JPEG), **kw)


# --- vision ---------------------------------------------------------------------------------


def test_box_clips_overshoot_and_negative_offsets() -> None:
    b = box({"Left": -0.0132, "Top": 0.1, "Width": 0.62, "Height": 0.9000001})
    assert b.left == 0.0 and b.top == 0.1
    assert b.width == pytest.approx(0.6068) and b.top + b.height <= 1.0


def test_labels_to_vendor_and_back() -> None:
    req = image(max_results=2, min_confidence=0.6)
    params = rekognition.to_vendor(Task.VISION_LABELS, req)
    assert params == {"Image": {"Bytes": JPEG.data}, "MaxLabels": 2, "MinConfidence": 60.0}
    response = {"Labels": [{"Name": n, "Confidence": c} for n, c in [("Cat", 91.0), ("Dog", 99.5), ("Pet", 50.0)]]}
    result = rekognition.labels_result(response, req)
    assert [(lb.name, lb.confidence) for lb in result.labels] == [("Dog", 0.995), ("Cat", 0.91)]
    assert result.image is not None and (result.image.width, result.image.height) == (640, 480)


def test_objects_come_from_instances() -> None:
    inst = {"BoundingBox": {"Left": 0.5, "Top": 0.5, "Width": 0.5000002, "Height": 0.2}, "Confidence": 88.0}
    response = {"Labels": [{"Name": "Car", "Confidence": 90.0, "Instances": [inst, inst]}, {"Name": "Sky"}]}
    objects = rekognition.objects_result(response, image()).objects
    assert len(objects) == 2 and objects[0].name == "Car" and objects[0].box.left + objects[0].box.width <= 1.0


def test_faces_landmarks_are_named_and_clipped() -> None:
    detail = {
        "BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.3, "Height": 0.3},
        "Confidence": 99.0,
        "Landmarks": [{"Type": "eyeLeft", "X": 0.2, "Y": 0.2}, {"Type": "upperJawlineLeft", "X": -0.01, "Y": 0.3}],
    }
    face = rekognition.faces_result({"FaceDetails": [detail]}, image()).faces[0]
    assert face.landmarks is not None
    assert [(m.type, m.x) for m in face.landmarks] == [("left_eye", 0.2), ("upper_jawline_left", 0.0)]
    assert rekognition.to_vendor(Task.VISION_FACES, image())["Attributes"] == ["DEFAULT"]


def test_ocr_keeps_lines_only() -> None:
    geo = {"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.3, "Height": 0.1}}
    dets = [
        {"DetectedText": "HELLO WORLD", "Type": "LINE", "Confidence": 99.0, "Geometry": geo},
        {"DetectedText": "HELLO", "Type": "WORD", "Confidence": 99.0, "Geometry": geo},
        {"DetectedText": "again", "Type": "LINE", "Confidence": 80.0, "Geometry": geo},
    ]
    result = rekognition.ocr_result({"TextDetections": dets}, image())
    assert result.text == "HELLO WORLD\nagain" and len(result.lines) == 2


def test_textract_lines_and_formats() -> None:
    blocks = [
        {"BlockType": "PAGE"},
        {"BlockType": "LINE", "Text": "Invoice 42", "Confidence": 97.0, "Geometry": {}},
        {"BlockType": "WORD", "Text": "Invoice", "Confidence": 97.0},
    ]
    result = textract.from_vendor({"Blocks": blocks}, image(document=True))
    assert result.text == "Invoice 42" and result.lines[0].box is None
    tiff = Media(data=b"II*\x00", format="tiff")
    assert textract.to_vendor(image(media=tiff)) == {"Document": {"Bytes": b"II*\x00"}}


def test_image_inputs_s3_and_limits() -> None:
    s3 = Media(data=b"", format="jpeg", uri="s3://bucket/photos/cat.jpg")
    params = rekognition.to_vendor(Task.VISION_LABELS, image(media=s3))
    assert params["Image"] == {"S3Object": {"Bucket": "bucket", "Name": "photos/cat.jpg"}}
    with pytest.raises(InvalidInput):
        rekognition.to_vendor(Task.VISION_LABELS, image(media=Media(data=b"", format="jpeg", uri="https://x/y")))
    with pytest.raises(Unsupported):
        rekognition.to_vendor(Task.VISION_LABELS, image(media=Media(data=b"RIFF", format="webp")))
    big = Media(data=b"0" * (5 * 1024 * 1024 + 1), format="png")
    with pytest.raises(PayloadTooLarge):
        rekognition.to_vendor(Task.VISION_LABELS, image(media=big))


def test_missing_fields_are_a_bad_response() -> None:
    from adapters.kit import parsed

    with pytest.raises(UpstreamBadResponse) as info:
        parsed("aws", lambda: rekognition.from_vendor(Task.VISION_FACES, {"message": "oops"}, image()))
    assert info.value.detail.startswith("aws: ") and info.value.provider is None  # the dispatcher names it


# --- text -----------------------------------------------------------------------------------


def test_comprehend_limits_are_utf8_bytes_checked_before_the_call() -> None:
    ok = "é" * 2500  # 5,000 bytes
    comprehend.to_vendor(Task.TEXT_SENTIMENT, TextRequest(text=ok))
    with pytest.raises(PayloadTooLarge, match="5000 bytes"):
        comprehend.to_vendor(Task.TEXT_SENTIMENT, TextRequest(text=ok + "e"))
    comprehend.to_vendor(Task.TEXT_ENTITIES, TextRequest(text=ok + "e"))  # 100 KB there
    with pytest.raises(InvalidInput):
        comprehend.to_vendor(Task.TEXT_KEY_PHRASES, TextRequest(text="   "))


def test_comprehend_language_codes() -> None:
    assert comprehend.to_vendor(Task.TEXT_SENTIMENT, TextRequest(text="x"))["LanguageCode"] == "en"
    assert comprehend.language_code("pt-BR", "en") == "pt"
    assert comprehend.language_code("zh-Hant-TW", "en") == "zh-TW"
    assert "LanguageCode" not in comprehend.to_vendor(Task.TEXT_LANGUAGE, TextRequest(text="hello there"))
    with pytest.raises(Unsupported):
        comprehend.language_code("sv", "en")
    with pytest.raises(InvalidInput):
        comprehend.language_code("english!", "en")


def test_sentiment_has_all_four_scores() -> None:
    response = {"Sentiment": "MIXED", "SentimentScore": {"Positive": 0.4, "Negative": 0.4, "Mixed": 0.2}}
    result = comprehend.sentiment_result(response)
    # A score the answer leaves out is null, never a stand-in 0.
    assert result.label == "mixed" and result.scores.neutral is None and result.scores.mixed == 0.2


def test_entity_types_map_and_offsets_are_code_points() -> None:
    text = "😀 Tim Cook bought an iPhone in Zürich"
    ents = [
        {"Text": "Tim Cook", "Type": "PERSON", "Score": 0.99, "BeginOffset": 2, "EndOffset": 10},
        {"Text": "iPhone", "Type": "COMMERCIAL_ITEM", "Score": 0.9, "BeginOffset": 21, "EndOffset": 27},
        {"Text": "Zürich", "Type": "LOCATION", "Score": 0.9, "BeginOffset": 31, "EndOffset": 37},
        {"Text": "CEO", "Type": "TITLE", "Score": 0.5, "BeginOffset": 0, "EndOffset": 3},  # not in the text: dropped
    ]
    result = comprehend.entities_result({"Entities": ents}, text)
    assert [(e.text, e.type, e.vendor_type) for e in result.entities] == [
        ("Tim Cook", "PERSON", "PERSON"),
        ("iPhone", "PRODUCT", "COMMERCIAL_ITEM"),
        ("Zürich", "LOCATION", "LOCATION"),
    ]
    for e in result.entities:
        assert text[e.begin : e.end] == e.text


def test_span_reconciles_shifted_offsets() -> None:
    text = "👍🏽 great phone"
    # UTF-16 offsets (each emoji counts 2) would put "great" at 5..10; code points say 3..8.
    assert span(text, "great", 5, 10) == ("great", 3, 8)
    assert span(text, None, 3, 8) == ("great", 3, 8)
    assert span(text, None, 50, 58) is None


def test_language_result_is_sorted_bcp47() -> None:
    response = {"Languages": [{"LanguageCode": "zh-TW", "Score": 0.2}, {"LanguageCode": "en", "Score": 0.7}]}
    result = comprehend.language_result(response)
    assert [(x.code, x.confidence) for x in result.languages] == [("en", 0.7), ("zh-TW", 0.2)]


def test_translate_codes() -> None:
    params = translate.to_vendor(TranslateRequest(text="hi", target_language="pt-PT"))
    assert params == {"Text": "hi", "SourceLanguageCode": "auto", "TargetLanguageCode": "pt-PT"}
    params = translate.to_vendor(TranslateRequest(text="hi", target_language="de-AT", source_language="nb"))
    assert (params["SourceLanguageCode"], params["TargetLanguageCode"]) == ("no", "de")
    with pytest.raises(Unsupported):
        translate.to_vendor(TranslateRequest(text="hi", target_language="xh"))
    with pytest.raises(PayloadTooLarge):
        translate.to_vendor(TranslateRequest(text="a" * 10_001, target_language="es"))
    out = translate.from_vendor({"TranslatedText": "hola", "SourceLanguageCode": "en", "TargetLanguageCode": "es"})
    assert (out.text, out.source_language, out.target_language) == ("hola", "en", "es")


# --- speech ---------------------------------------------------------------------------------


def test_polly_voice_choice() -> None:
    assert polly.choose_voice(None, None) == "Joanna"
    assert polly.choose_voice("en", "male") == "Matthew"
    assert polly.choose_voice("en-GB", "female") == "Amy"
    assert polly.choose_voice("pt", None) == "Camila"
    assert polly.choose_voice("ko", "male") == "Seoyeon"  # only a female voice: use it
    assert polly.choose_voice("de", "male", "standard") == "Hans"
    with pytest.raises(Unsupported):
        polly.choose_voice("xh", None)
    with pytest.raises(InvalidInput):
        polly.choose_voice("en", "robot")


def test_polly_formats_and_wav_wrapping() -> None:
    params = polly.to_vendor(SynthesizeRequest(text="hi", voice="Brian", format="wav"))
    assert (params["OutputFormat"], params["SampleRate"], params["VoiceId"]) == ("pcm", "16000", "Brian")
    assert "SampleRate" not in polly.to_vendor(SynthesizeRequest(text="hi", format="ogg"))
    with pytest.raises(Unsupported):
        polly.to_vendor(SynthesizeRequest(text="hi", format="flac"))
    with pytest.raises(PayloadTooLarge):
        polly.to_vendor(SynthesizeRequest(text="a" * 3001))
    pcm = b"\x01\x00" * 1600
    result = polly.from_vendor(pcm, params, SynthesizeRequest(text="hi", format="wav"))
    with wave.open(io.BytesIO(result.audio)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (16000, 1, 2, 1600)
    assert result.sample_rate == 16000 and result.voice == "Brian"
    with pytest.raises(UpstreamBadResponse):
        polly.from_vendor(b"", params, SynthesizeRequest(text="hi"))


def test_transcribe_params_and_transcript() -> None:
    req = TranscribeRequest(audio=Media(data=b"RIFF", format="wav"), language="en")
    params = transcribe.to_vendor(req, "job", "s3://b/in.wav", "b", "out/job.json")
    assert params["LanguageCode"] == "en-US" and params["OutputKey"] == "out/job.json"
    auto = transcribe.to_vendor(TranscribeRequest(audio=req.audio), "job", "s3://b/in.wav", "b", "k")
    assert auto["IdentifyLanguage"] is True and "LanguageCode" not in auto
    with pytest.raises(Unsupported):
        transcribe.to_vendor(TranscribeRequest(audio=Media(data=b"x", format="aiff")), "j", "s3://b/k", "b", "k")
    from contract_tests.fakes.aws_json import transcript_json

    result = transcribe.from_vendor(transcript_json("job"), {"LanguageCode": "en-US"})
    assert result.text == "Hello from omnisense."
    assert [w.text for w in result.words] == ["hello", "from", "omnisense"]
    assert result.confidence == pytest.approx((0.98 + 0.95 + 0.91) / 3) and result.language == "en-US"
    assert transcribe.job_name("req/1 2")[:18] == "omnisense-req-1-2-"


def test_transcript_without_scored_words_has_no_confidence() -> None:
    # Transcribe's documented shape for a silent file: a transcript and no pronunciation item.
    silent = {"jobName": "j", "results": {"transcripts": [{"transcript": ""}], "items": []}, "status": "COMPLETED"}
    assert transcribe.from_vendor(silent, {"LanguageCode": "en-US"}).confidence is None
    unscored = {"results": {"transcripts": [{"transcript": "hi"}], "items": [
        {"type": "pronunciation", "start_time": "0.0", "end_time": "0.4", "alternatives": [{"content": "hi"}]},
    ]}}  # fmt: skip
    result = transcribe.from_vendor(unscored, {})
    assert result.confidence is None and result.words[0].confidence is None


# --- errors ---------------------------------------------------------------------------------


def client_error(code: str, status: int = 400, headers: dict[str, str] | None = None) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": code, "Message": "msg"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
    }
    error: Exception = ClientError(response, "DetectFaces")
    return error


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("ThrottlingException", 400, UpstreamThrottled),
        ("ThrottlingException", 500, UpstreamThrottled),
        ("ProvisionedThroughputExceededException", 400, UpstreamThrottled),
        ("TooManyRequestsException", 429, UpstreamThrottled),
        ("AccessDeniedException", 400, UpstreamAuth),
        ("UnrecognizedClientException", 400, UpstreamAuth),
        ("ExpiredTokenException", 400, UpstreamAuth),
        ("InvalidImageFormatException", 400, UnsupportedMediaType),
        ("ImageTooLargeException", 400, PayloadTooLarge),
        ("TextSizeLimitExceededException", 400, PayloadTooLarge),
        ("UnsupportedLanguageException", 400, Unsupported),
        ("InvalidParameterException", 400, InvalidInput),
        ("InternalServerError", 500, UpstreamUnavailable),
        ("500", 500, UpstreamUnavailable),
        ("503", 503, UpstreamUnavailable),
        ("SomethingNew", 403, UpstreamAuth),
        ("SomethingNew", 418, UpstreamBadResponse),
    ],
)
def test_client_error_codes(code: str, status: int, cls: type[Exception]) -> None:
    mapped = errors.classify(client_error(code, status))
    assert type(mapped) is cls, (code, type(mapped))


def test_retry_after_is_kept() -> None:
    mapped = errors.classify(client_error("ThrottlingException", 400, {"retry-after": "3"}))
    assert mapped is not None and mapped.retry_after_s == 3.0


def test_botocore_exceptions() -> None:
    from botocore import exceptions as bx

    assert isinstance(errors.classify(bx.ReadTimeoutError(endpoint_url="http://x")), UpstreamTimeout)
    assert isinstance(errors.classify(bx.ConnectTimeoutError(endpoint_url="http://x")), UpstreamUnavailable)
    assert isinstance(errors.classify(bx.EndpointConnectionError(endpoint_url="http://x")), UpstreamUnavailable)
    assert isinstance(errors.classify(bx.NoCredentialsError()), UpstreamAuth)
    assert isinstance(errors.classify(bx.ParamValidationError(report="bad")), InvalidInput)
    from botocore.parsers import ResponseParserError

    assert isinstance(errors.classify(ResponseParserError("bad json")), UpstreamBadResponse)
    assert errors.classify(RuntimeError("a bug")) is None


# --- prices, config, capabilities --------------------------------------------------------------


def test_prices() -> None:
    prices = load_prices()
    assert prices[Task.TEXT_SENTIMENT].cost(50) == pytest.approx(0.0003)  # 3-unit minimum
    assert prices[Task.TEXT_SENTIMENT].cost(301) == pytest.approx(0.0004)
    assert prices[Task.VISION_LABELS].cost(1) == pytest.approx(0.001)
    assert prices[Task.TEXT_TRANSLATE].cost(1000) == pytest.approx(0.015)
    assert prices[Task.SPEECH_SYNTHESIZE].cost(1_000_000) == pytest.approx(16.0)
    assert load_prices("standard")[Task.SPEECH_SYNTHESIZE].cost(1_000_000) == pytest.approx(4.0)
    assert prices[Task.SPEECH_TRANSCRIBE].cost(1.0) == pytest.approx(15 * 0.0004)
    assert prices[Task.TEXT_MODERATION].cost(50) == pytest.approx(0.0001)  # 1-unit minimum
    assert set(prices) == set(Task)
    custom = load_prices(overrides={"vision.labels": {"usd": 0.0008}})
    assert custom[Task.VISION_LABELS].cost(1) == pytest.approx(0.0008)
    with pytest.raises(ValueError, match="unknown task"):
        load_prices(overrides={"vision.nope": {"usd": 1}})


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"providers\.aws: .*endpoints"):
        parse_config(AwsConfig, "aws", {"kind": "aws", "endpoints": {"rekogniton": "http://x"}})
    with pytest.raises(ValueError, match=r"providers\.aws"):
        parse_config(AwsConfig, "aws", {"kind": "aws", "timeout": 5})
    with pytest.raises(ValueError, match="max_attempts"):
        parse_config(AwsConfig, "aws", {"kind": "aws", "max_attempts": 0})
    cfg = parse_config(AwsConfig, "aws", {"kind": "aws", "endpoint_url": "http://a", "endpoints": {"s3": "http://b"}})
    assert (cfg.endpoint_for("s3"), cfg.endpoint_for("polly")) == ("http://b", "http://a")


def test_transcribe_takes_files_only_with_a_bucket_and_streams_always() -> None:
    live = capabilities(AwsConfig())[Task.SPEECH_TRANSCRIBE]
    assert live.streaming and not live.diarization
    assert "fa" not in live.languages and "en" in live.languages  # Persian: files only, not streamed
    caps = capabilities(AwsConfig(s3_bucket="b"))
    both = caps[Task.SPEECH_TRANSCRIBE]
    assert both.streaming and both.diarization and "wav" in both.formats and "fa" in both.languages
    assert caps[Task.TEXT_SENTIMENT].max_bytes == 5_000


async def test_a_file_without_a_bucket_is_unsupported_before_any_call() -> None:
    provider = registry.build("aws-live-only", {"kind": "aws", "region": "us-east-1"})
    request = TranscribeRequest(audio=Media(data=b"RIFF" + b"\0" * 100, format="wav"), language="en")
    ctx = CallContext(request_id="r", deadline=time.monotonic() + 5)
    try:
        with pytest.raises(Unsupported, match="s3_bucket"):
            await provider.run(Task.SPEECH_TRANSCRIBE, request, ctx)
    finally:
        await provider.aclose()
    provider = registry.build("aws-x", {"kind": "aws", "region": "us-east-1"})
    assert provider.info.kind == "aws" and set(provider.info.prices) >= set(provider.info.capabilities)


def test_registry_does_not_import_boto3() -> None:
    code = (
        "import sys, adapters.registry as r, adapters.aws.provider as p;"
        "r.build('aws', {'kind': 'aws', 'region': 'us-east-1'});"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""The AWS adapter against the wire-level fakes: routing, retries, deadlines, cleanup, probe."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import boto3
import pytest

from adapters import registry
from adapters.aws import transcribe
from adapters.aws.provider import AwsProvider
from adapters.base import CallContext
from contract_tests import samples
from contract_tests.abstract.base import image_request
from contract_tests.conftest_aws import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_aws import BUCKET, REGION, aws_block
from contract_tests.fakes.aws_json import AwsJsonFake, aws_error, diarized_transcript_json, transcript_json
from contract_tests.fakes.scripted import Reply
from omnisense.schema import (
    EntitiesResult,
    FacesResult,
    ImageRequest,
    KeyPhrasesResult,
    Media,
    OcrResult,
    SynthesizeRequest,
    Task,
    TextRequest,
    TranscribeRequest,
    TranscribeResult,
    TranslateRequest,
    TranslateResult,
    UnprocessableInput,
    UpstreamAuth,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
    request_units,
)

FACES = "RekognitionService.DetectFaces"


def ctx(seconds: float = 10.0) -> CallContext:
    return CallContext(request_id="wire-test", deadline=time.monotonic() + seconds)


@pytest.fixture
def fake(aws_fake: AwsJsonFake) -> Any:
    aws_fake.reset()
    yield aws_fake
    aws_fake.reset()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def s3(moto_url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )


@pytest.fixture(scope="module")
async def retrying_provider(moto_url: str, aws_fake: AwsJsonFake) -> AsyncIterator[AwsProvider]:
    provider = registry.build("aws-retrying", aws_block(moto_url, aws_fake.url, max_attempts=3, timeout_s=2))
    yield provider
    await provider.aclose()


async def test_each_service_goes_to_its_endpoint(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    await aws_provider.run(Task.VISION_LABELS, image_request(samples.jpeg()), ctx())
    await aws_provider.run(Task.TEXT_ENTITIES, TextRequest(text=samples.ENTITIES), ctx())
    await aws_provider.run(Task.SPEECH_SYNTHESIZE, SynthesizeRequest(text="hi", format="mp3"), ctx())
    # Rekognition and Comprehend went through the fake; Polly went straight to moto.
    assert fake.targets() == ["RekognitionService.DetectLabels", "Comprehend_20171127.DetectEntities"]


async def test_document_ocr_uses_textract(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    out = await aws_provider.run(Task.VISION_OCR, image_request(samples.text_image(), document=True), ctx())
    assert isinstance(out.result, OcrResult) and out.result.text == "HELLO WORLD" and out.model == "textract"
    assert fake.targets() == ["Textract.DetectDocumentText"]
    assert out.cost_usd == 0.0015, "one page at Textract's per-page price, not Rekognition's per image"


async def test_s3_image_is_passed_by_reference(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    media = Media(data=b"", format="jpeg", uri="s3://photos/2026/cat.jpg", width=100, height=50)
    out = await aws_provider.run(Task.VISION_FACES, ImageRequest(image=media), ctx())
    assert isinstance(out.result, FacesResult) and out.result.image is not None
    assert fake.requests[0].json()["Image"] == {"S3Object": {"Bucket": "photos", "Name": "2026/cat.jpg"}}


async def test_offsets_of_non_bmp_text(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    text = "🎉🎉 Tim Cook said Apple loves Berlin"
    out = await aws_provider.run(Task.TEXT_ENTITIES, TextRequest(text=text, language="en"), ctx())
    assert isinstance(out.result, EntitiesResult) and len(out.result.entities) == 3
    for ent in out.result.entities:
        assert text[ent.begin : ent.end] == ent.text


async def test_moto_key_phrase_offsets_outside_the_text_are_dropped(aws_provider: AwsProvider) -> None:
    # moto's canned phrases sit at 50..58, 230..259 and 334..349 whatever the input.
    out = await aws_provider.run(Task.TEXT_KEY_PHRASES, TextRequest(text=samples.ENTITIES), ctx())
    assert isinstance(out.result, KeyPhrasesResult)
    assert [(p.begin, p.end) for p in out.result.phrases] == [(50, 58)]


async def test_translate_detects_the_source(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    req = TranslateRequest(text=samples.SENTENCES["en"], target_language="es")
    out = await aws_provider.run(Task.TEXT_TRANSLATE, req, ctx())
    assert isinstance(out.result, TranslateResult) and out.result.source_language == "en"
    assert fake.requests[0].json()["SourceLanguageCode"] == "auto"


async def test_raw_and_cost(aws_provider: AwsProvider) -> None:
    req = TextRequest(text="Great phone.", include_raw=True)
    out = await aws_provider.run(Task.TEXT_SENTIMENT, req, ctx())
    assert out.raw["Sentiment"] == "NEUTRAL" and "ResponseMetadata" not in out.raw
    assert aws_provider.info.cost(Task.TEXT_SENTIMENT, request_units(req)) == pytest.approx(0.0003)


async def test_transcribe_cleans_up(aws_provider: AwsProvider, fake: AwsJsonFake, moto_url: str) -> None:
    media = Media(data=samples.wav(0.5), format="wav", duration_s=0.5)
    out = await aws_provider.run(Task.SPEECH_TRANSCRIBE, TranscribeRequest(audio=media), ctx())
    assert out.result.text  # type: ignore[union-attr]
    await aws_provider.aws.drain()
    listed = s3(moto_url).list_objects_v2(Bucket=BUCKET, Prefix=aws_provider.config.s3_prefix)
    assert listed.get("KeyCount", 0) == 0, listed.get("Contents")
    targets = fake.targets()
    assert targets[0] == "Transcribe.StartTranscriptionJob" and targets[-1] == "Transcribe.DeleteTranscriptionJob"
    start = fake.requests[0].json()
    assert start["IdentifyLanguage"] is True and start["Media"]["MediaFileUri"].startswith(f"s3://{BUCKET}/")


async def test_transcribe_stops_at_the_deadline(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    running = {"TranscriptionJob": {"TranscriptionJobName": "j", "TranscriptionJobStatus": "IN_PROGRESS"}}
    fake.fail("Transcribe.GetTranscriptionJob", *[Reply(json=running)] * 200)
    media = Media(data=samples.wav(0.2), format="wav")
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as info:
        await aws_provider.run(Task.SPEECH_TRANSCRIBE, TranscribeRequest(audio=media, language="en"), ctx(0.5))
    assert time.monotonic() - started < 1.5 and info.value.provider in (None, "aws")  # the dispatcher names it
    await aws_provider.aws.drain()
    assert fake.targets()[-1] == "Transcribe.DeleteTranscriptionJob"


async def test_failed_job_is_unprocessable(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    failed = {"TranscriptionJob": {"TranscriptionJobStatus": "FAILED", "FailureReason": "Invalid sample rate"}}
    fake.fail("Transcribe.GetTranscriptionJob", Reply(json=failed))
    media = Media(data=samples.wav(0.2), format="wav")
    with pytest.raises(UnprocessableInput, match="Invalid sample rate"):
        await aws_provider.run(Task.SPEECH_TRANSCRIBE, TranscribeRequest(audio=media), ctx())
    await aws_provider.aws.drain()


async def test_no_sdk_retries_by_default(aws_failing_provider: AwsProvider, fake: AwsJsonFake) -> None:
    fake.fail(FACES, Reply(status=503, body=b"busy", content_type="text/plain"))
    with pytest.raises(UpstreamUnavailable):
        await aws_failing_provider.run(Task.VISION_FACES, image_request(samples.jpeg()), ctx())
    assert fake.targets() == [FACES]  # one attempt: the gateway's dispatcher owns retries


async def test_standard_retries_when_configured(retrying_provider: AwsProvider, fake: AwsJsonFake) -> None:
    fake.fail(FACES, aws_error(FACES, "ThrottlingException", status=400), Reply(status=500, body=b"x"))
    out = await retrying_provider.run(Task.VISION_FACES, image_request(samples.jpeg()), ctx())
    assert isinstance(out.result, FacesResult) and fake.targets() == [FACES] * 3


@pytest.mark.parametrize(
    ("reply", "cls"),
    [
        (aws_error(FACES, "ThrottlingException", status=500), UpstreamThrottled),
        (aws_error(FACES, "ProvisionedThroughputExceededException"), UpstreamThrottled),
        (aws_error(FACES, "UnrecognizedClientException"), UpstreamAuth),
        (aws_error(FACES, "InvalidSignatureException", status=403), UpstreamAuth),
        (aws_error(FACES, "InternalServerError", status=500), UpstreamUnavailable),
    ],
)
async def test_error_codes_on_the_wire(
    aws_failing_provider: AwsProvider, fake: AwsJsonFake, reply: Reply, cls: type[Exception]
) -> None:
    fake.fail(FACES, reply)
    with pytest.raises(cls):
        await aws_failing_provider.run(Task.VISION_FACES, image_request(samples.jpeg()), ctx())


async def test_connection_refused_and_probe(moto_url: str, aws_provider: AwsProvider) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    provider = registry.build("aws-dead", aws_block(dead, dead, timeout_s=1, probe_timeout_s=1))
    try:
        with pytest.raises(UpstreamUnavailable) as info:
            await provider.run(Task.TEXT_SENTIMENT, TextRequest(text="hello"), ctx())
        assert info.value.provider in (None, "aws-dead")  # named by the dispatcher, never another
        health = await provider.probe()
        assert not health.ok and "UpstreamUnavailable" in health.detail
    finally:
        await provider.aclose()
    health = await aws_provider.probe()
    assert health.ok and "DescribeVoices" in health.detail


async def test_deadline_already_passed(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    with pytest.raises(UpstreamTimeout):
        await aws_provider.run(Task.VISION_FACES, image_request(samples.jpeg()), ctx(0.0))
    assert fake.targets() == []


async def test_hung_call_is_bounded_by_the_request_deadline(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    # The provider's read timeout is 10 s; the request has 0.5 s left.
    fake.fail(FACES, Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await aws_provider.run(Task.VISION_FACES, image_request(samples.jpeg()), ctx(0.5))
    assert time.monotonic() - started < 2.0


async def test_concurrent_calls(aws_provider: AwsProvider) -> None:
    reqs = [aws_provider.run(Task.TEXT_LANGUAGE, TextRequest(text=t), ctx()) for t in samples.SENTENCES.values()]
    outs = await asyncio.gather(*reqs)
    assert [o.result.languages[0].code for o in outs] == list(samples.SENTENCES)  # type: ignore[union-attr]


async def test_transcribe_with_speakers(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    media = Media(data=samples.wav(3.0), format="wav", duration_s=3.0)
    out = await aws_provider.run(Task.SPEECH_TRANSCRIBE, TranscribeRequest(audio=media, speakers=2), ctx())
    assert fake.requests[0].json()["Settings"] == {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 2}
    result = out.result
    assert isinstance(result, TranscribeResult) and result.segments is not None
    turns = [(s.speaker, s.text, s.start_s, s.end_s) for s in result.segments]
    assert turns == [("S1", "hello there", 0.1, 0.8), ("S2", "hi back", 1.4, 1.9), ("S1", "bye", 2.5, 2.8)]
    assert [w.speaker for w in result.words] == ["S1", "S1", "S2", "S2", "S1"]
    await aws_provider.aws.drain()


def test_transcribe_speakers_settings_and_segment_labels() -> None:
    media = Media(data=b"RIFF", format="wav")
    params = transcribe.to_vendor(TranscribeRequest(audio=media, speakers=True), "j", "s3://b/k", "b", "k.json")
    assert params["Settings"] == {"ShowSpeakerLabels": True, "MaxSpeakerLabels": transcribe.DEFAULT_MAX_SPEAKERS}
    assert "Settings" not in transcribe.to_vendor(TranscribeRequest(audio=media, speakers=False), "j", "u", "b", "k")
    assert transcribe.to_vendor(TranscribeRequest(audio=media, speakers=1), "j", "u", "b", "k")["Settings"] == {
        "ShowSpeakerLabels": True,
        "MaxSpeakerLabels": 2,
    }
    # Older transcripts carry the labels only in speaker_labels.segments: matched by start time.
    doc = diarized_transcript_json("j")
    for item in doc["results"]["items"]:
        item.pop("speaker_label", None)
    result = transcribe.from_vendor(doc, {})
    assert [s.speaker for s in result.segments or ()] == ["S1", "S2", "S1"]
    plain = transcribe.from_vendor(transcript_json("j"), {})
    assert plain.segments is None and all(w.speaker is None for w in plain.words)

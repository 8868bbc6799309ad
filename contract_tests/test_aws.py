"""The contract suite for the AWS adapter.

Against the fakes (default): moto's server answers what moto implements (DetectLabels,
DetectText, DetectSentiment, DetectKeyPhrases, SynthesizeSpeech, DescribeVoices,
Transcribe jobs, S3), ``AwsJsonFake`` answers the rest and scripts the failures. The
ClassVars below adapt the suite to the fakes' canned answers (moto's label is "Mobile
Phone", its text "IT'S MONDAY but keep Smiling", its sentiment always NEUTRAL).

Against real AWS: ``pytest -m live`` (skipped without credentials in boto3's standard
chain; ``AWS_REGION`` and, for transcription, ``OMNISENSE_AWS_BUCKET`` are read).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from adapters.aws.provider import AwsProvider
from contract_tests import abstract, samples
from contract_tests.abstract.base import image_request
from contract_tests.conftest_aws import *  # noqa: F403  (the fixtures)
from contract_tests.fakes.aws_json import AwsJsonFake, aws_error
from contract_tests.fakes.scripted import Reply
from omnisense.schema import Task, TaskRequest


class OnFakes:
    @pytest.fixture
    def provider(self, aws_provider: AwsProvider) -> AwsProvider:
        return aws_provider


@pytest.mark.live
class OnLiveAws:
    @pytest.fixture
    def provider(self, aws_live_provider: AwsProvider) -> AwsProvider:
        return aws_live_provider


# --- against the fakes ---------------------------------------------------------------------


class TestAwsVideoLabels(OnFakes, abstract.VideoLabelsContract):
    seconds = 10.01  # the fake's sample job (it does not look at the clip)
    expected_labels = ("Person", "Car", "Road")


class TestAwsVideoShots(OnFakes, abstract.VideoShotsContract):
    seconds = 10.01
    expected_cuts = (3.337, 6.707)


class TestAwsVideoModeration(OnFakes, abstract.VideoModerationContract):
    seconds = 10.01
    expected_categories = ("Alcohol", "Violence")


class TestAwsLabels(OnFakes, abstract.LabelsContract):
    expected_label = "Mobile Phone"


class TestAwsObjects(OnFakes, abstract.ObjectsContract):
    pass


class TestAwsFaces(OnFakes, abstract.FacesContract):
    expected_faces = 1


class TestAwsOcr(OnFakes, abstract.OcrContract):
    expected_text = "MONDAY"


class TestAwsModeration(OnFakes, abstract.ModerationContract):
    pass


class TestAwsSentiment(OnFakes, abstract.SentimentContract):
    checks_polarity = False  # moto answers NEUTRAL whatever the text


class TestAwsEntities(OnFakes, abstract.EntitiesContract):
    pass


class TestAwsKeyPhrases(OnFakes, abstract.KeyPhrasesContract):
    pass


class TestAwsLanguage(OnFakes, abstract.LanguageContract):
    pass


class TestAwsTranslate(OnFakes, abstract.TranslateContract):
    pass


class TestAwsTextModeration(OnFakes, abstract.TextModerationContract):
    pass


class TestAwsSynthesize(OnFakes, abstract.SynthesizeContract):
    output_format = "wav"  # moto's 8 zero bytes, wrapped as WAV by the adapter


class TestAwsSynthesizeMp3(OnFakes, abstract.SynthesizeContract):
    output_format = "mp3"
    checks_magic = False  # moto's audio is 8 zero bytes, not an MP3 frame


class TestAwsTranscribe(OnFakes, abstract.TranscribeContract):
    expected_words = ("hello", "omnisense")
    expected_speakers = 2


FAILURES: dict[str, list[Reply]] = {
    "auth": [aws_error("RekognitionService", "AccessDeniedException", "not authorized", 400)],
    "throttle": [aws_error("RekognitionService", "ThrottlingException", "slow down", 400)],
    "timeout": [Reply(hang=True)],
    "server_error": [Reply(status=500, body=b"<html><h1>Internal Server Error</h1></html>", content_type="text/html")],
    "malformed": [Reply.malformed()],
    "error_in_200": [Reply(json={"__type": "InternalFailure", "message": "oops"}, content_type="application/json")],
    "bad_input": [aws_error("RekognitionService", "InvalidImageFormatException", "Request has invalid image format")],
}


class TestAwsFailures(abstract.FailureContract):
    timeout_s = 15.0

    @pytest.fixture
    def provider(self, aws_failing_provider: AwsProvider, aws_fake: AwsJsonFake) -> Any:
        self.fake = aws_fake
        aws_fake.reset()
        yield aws_failing_provider
        aws_fake.reset()

    def arrange(self, kind: str) -> None:
        self.fake.fail("RekognitionService.DetectFaces", *FAILURES[kind])

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.VISION_FACES, image_request(samples.jpeg())


# --- against real AWS (-m live) ------------------------------------------------------------


class TestLiveLabels(OnLiveAws, abstract.LabelsContract):
    pass


class TestLiveObjects(OnLiveAws, abstract.ObjectsContract):
    pass


class TestLiveFaces(OnLiveAws, abstract.FacesContract):
    expected_faces = 0  # the sample is a yellow disc


class TestLiveOcr(OnLiveAws, abstract.OcrContract):
    pass


class TestLiveModeration(OnLiveAws, abstract.ModerationContract):
    pass


class TestLiveSentiment(OnLiveAws, abstract.SentimentContract):
    pass


class TestLiveEntities(OnLiveAws, abstract.EntitiesContract):
    pass


class TestLiveKeyPhrases(OnLiveAws, abstract.KeyPhrasesContract):
    pass


class TestLiveLanguage(OnLiveAws, abstract.LanguageContract):
    pass


class TestLiveTranslate(OnLiveAws, abstract.TranslateContract):
    pass


class TestLiveTextModeration(OnLiveAws, abstract.TextModerationContract):
    pass


class TestLiveSynthesize(OnLiveAws, abstract.SynthesizeContract):
    pass


class TestLiveTranscribe(OnLiveAws, abstract.TranscribeContract):
    timeout_s: ClassVar[float] = 300.0  # a batch job takes tens of seconds

"""The contract suite for the Google adapter.

Against the fake (default): ``GoogleFake`` answers Google's documented sample responses
(labels "Street", "Snapshot" ...; the "Brooklyn Bridge" transcript) and scripts the
failures. Against real Google: ``pytest -m live`` (skipped without credentials:
GOOGLE_CLOUD_PROJECT plus GOOGLE_API_KEY or Application Default Credentials).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.google.provider import GoogleProvider
from contract_tests import abstract, samples
from contract_tests.abstract.base import image_request
from contract_tests.conftest_google import *  # noqa: F403  (the fixtures)
from contract_tests.fakes.google import ANNOTATE, GoogleFake, google_error
from contract_tests.fakes.scripted import Reply
from gateway.schema import Task, TaskRequest


class OnFake:
    @pytest.fixture
    def provider(self, google_provider: GoogleProvider) -> GoogleProvider:
        return google_provider


@pytest.mark.live
class OnLiveGoogle:
    @pytest.fixture
    def provider(self, google_live_provider: GoogleProvider) -> GoogleProvider:
        return google_live_provider


# --- against the fake ------------------------------------------------------------------------


class TestGoogleLabels(OnFake, abstract.LabelsContract):
    expected_label = "Street"


class TestGoogleObjects(OnFake, abstract.ObjectsContract):
    pass


class TestGoogleFaces(OnFake, abstract.FacesContract):
    expected_faces = 1


class TestGoogleOcr(OnFake, abstract.OcrContract):
    pass


class TestGoogleModeration(OnFake, abstract.ModerationContract):
    pass


class TestGoogleSentiment(OnFake, abstract.SentimentContract):
    pass


class TestGoogleEntities(OnFake, abstract.EntitiesContract):
    pass


class TestGoogleKeyPhrases(OnFake, abstract.KeyPhrasesContract):
    pass  # not declared: a visible skip


class TestGoogleLanguage(OnFake, abstract.LanguageContract):
    pass


class TestGoogleTranslate(OnFake, abstract.TranslateContract):
    pass


class TestGoogleSynthesize(OnFake, abstract.SynthesizeContract):
    output_format = "wav"


class TestGoogleSynthesizeMp3(OnFake, abstract.SynthesizeContract):
    output_format = "mp3"


class TestGoogleSynthesizeOgg(OnFake, abstract.SynthesizeContract):
    output_format = "ogg"


class TestGoogleTranscribe(OnFake, abstract.TranscribeContract):
    expected_words = ("brooklyn", "bridge")


FAILURES: dict[str, list[Reply]] = {
    "auth": [google_error(403, "The caller does not have permission")],
    "throttle": [google_error(429, "Quota exceeded for quota metric 'Requests'", retry_after="7")],
    "timeout": [Reply(hang=True)],
    "server_error": [google_error(503, "The service is currently unavailable.")],
    "malformed": [Reply.malformed()],
    "error_in_200": [Reply(json={"responses": [{"error": {"code": 3, "message": "Bad image data."}}]})],
    "bad_input": [google_error(400, "Request must specify image and features.")],
}


class TestGoogleFailures(abstract.FailureContract):
    timeout_s = 15.0

    @pytest.fixture
    def provider(self, google_failing_provider: GoogleProvider, google_fake: GoogleFake) -> Iterator[Any]:
        self.fake = google_fake
        google_fake.reset()
        yield google_failing_provider
        google_fake.reset()

    def arrange(self, kind: str) -> None:
        self.fake.fail(ANNOTATE, *FAILURES[kind])

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.VISION_FACES, image_request(samples.jpeg())


# --- against real Google (-m live) -----------------------------------------------------------


class TestLiveLabels(OnLiveGoogle, abstract.LabelsContract):
    pass


class TestLiveObjects(OnLiveGoogle, abstract.ObjectsContract):
    pass


class TestLiveFaces(OnLiveGoogle, abstract.FacesContract):
    expected_faces = 0  # the sample is a yellow disc


class TestLiveOcr(OnLiveGoogle, abstract.OcrContract):
    pass


class TestLiveModeration(OnLiveGoogle, abstract.ModerationContract):
    pass


class TestLiveSentiment(OnLiveGoogle, abstract.SentimentContract):
    pass


class TestLiveEntities(OnLiveGoogle, abstract.EntitiesContract):
    pass


class TestLiveLanguage(OnLiveGoogle, abstract.LanguageContract):
    pass


class TestLiveTranslate(OnLiveGoogle, abstract.TranslateContract):
    pass


class TestLiveSynthesize(OnLiveGoogle, abstract.SynthesizeContract):
    pass


class TestLiveTranscribe(OnLiveGoogle, abstract.TranscribeContract):
    pass

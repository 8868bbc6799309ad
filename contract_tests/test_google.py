"""The contract suite for the Google adapter.

Against the fake (default): ``GoogleFake`` answers Google's documented sample responses
(labels "Street", "Snapshot" ...; the "Brooklyn Bridge" transcript) and scripts the
failures. Against real Google: ``pytest -m live`` (skipped without credentials:
GOOGLE_CLOUD_PROJECT plus GOOGLE_API_KEY or Application Default Credentials).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.base import CallContext
from adapters.google.provider import GoogleProvider
from contract_tests import abstract, samples
from contract_tests.abstract.base import image_request
from contract_tests.conftest_google import *  # noqa: F403  (the fixtures)
from contract_tests.fakes.google import ANNOTATE, LANGUAGE, RECOGNIZE, GoogleFake, google_error
from contract_tests.fakes.scripted import Reply
from omnisense.schema import (
    Media,
    Task,
    TaskRequest,
    TextRequest,
    TranscribeRequest,
    UpstreamAuth,
    UpstreamUnavailable,
)


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


class OnVideoFake:
    @pytest.fixture
    def provider(self, google_video_provider: GoogleProvider) -> GoogleProvider:
        return google_video_provider


class TestGoogleVideoLabels(OnVideoFake, abstract.VideoLabelsContract):
    seconds = 14.833664  # the documented sample's clip (the fake answers it whatever it is sent)
    expected_labels = ("cat", "pet", "animal")


class TestGoogleVideoShots(OnVideoFake, abstract.VideoShotsContract):
    seconds = 14.833664
    expected_cuts = (5.233333, 10.1)


class TestGoogleVideoModeration(OnVideoFake, abstract.VideoModerationContract):
    seconds = 14.833664
    expected_categories = ("adult",)


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


class TestGoogleTextModeration(OnFake, abstract.TextModerationContract):
    pass


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
    expected_speakers = 2


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


@pytest.mark.parametrize(
    ("path", "task", "request_", "reply", "error"),
    [
        (
            LANGUAGE,
            Task.TEXT_SENTIMENT,
            TextRequest(text="fine"),
            google_error(503, "unavailable"),
            UpstreamUnavailable,
        ),
        (RECOGNIZE, Task.SPEECH_TRANSCRIBE, None, google_error(503, "unavailable"), UpstreamUnavailable),
        (ANNOTATE, Task.VISION_LABELS, None, google_error(500, "Internal error encountered."), UpstreamUnavailable),
        (ANNOTATE, Task.VISION_LABELS, None, google_error(401, "Request had invalid authentication"), UpstreamAuth),
        (
            ANNOTATE,
            Task.VISION_LABELS,
            None,
            google_error(400, "API key not valid. Please pass a valid API key."),
            UpstreamAuth,
        ),
    ],
)
async def test_each_error_is_one_request_and_mapped(
    google_provider: GoogleProvider,
    google_fake: GoogleFake,
    path: str,
    task: Task,
    request_: TaskRequest | None,
    reply: Reply,
    error: type[Exception],
) -> None:
    """The SDKs' own retries are off (Language and Speech would retry a 503 by themselves):
    one call is one request, and the gateway's dispatcher decides what happens next."""
    google_fake.reset()
    google_fake.fail(path, reply, reply, reply)
    if request_ is None:
        media = Media(data=samples.wav(1.0), format="wav", duration_s=1.0)
        request_ = image_request(samples.jpeg()) if task.modality == "vision" else TranscribeRequest(audio=media)
    ctx = CallContext(request_id="one-request", deadline=time.monotonic() + 10)
    with pytest.raises(error):
        await google_provider.run(task, request_, ctx)
    assert len(google_fake.requests) == 1
    google_fake.reset()


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


class TestLiveTextModeration(OnLiveGoogle, abstract.TextModerationContract):
    pass


class TestLiveLanguage(OnLiveGoogle, abstract.LanguageContract):
    pass


class TestLiveTranslate(OnLiveGoogle, abstract.TranslateContract):
    pass


class TestLiveSynthesize(OnLiveGoogle, abstract.SynthesizeContract):
    pass


class TestLiveTranscribe(OnLiveGoogle, abstract.TranscribeContract):
    pass

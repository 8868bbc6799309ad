"""The contract suite for the Azure adapter.

Against the fake (default): ``AzureFake`` answers Azure's documented example bodies (the
Computer Vision example's tags are person/man/outdoor..., its Read result "Our greatest
glory is not" / "in never failing ,", the Speech example "What's the weather like?") and
builds the Language and Translator answers from the input in the documented shapes. The
real SDKs run against it: msrest (Computer Vision, chunked uploads), azure-core
(Language, Translator, Content Safety) and aiohttp (Speech REST).

Against real Azure: ``pytest -m live`` (skipped without ``AZURE_AI_ENDPOINT`` and
``AZURE_AI_KEY``; ``AZURE_AI_REGION`` for Translator and Speech).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from adapters.azure.provider import AzureProvider
from contract_tests import abstract, samples
from contract_tests.abstract.base import image_request
from contract_tests.conftest_azure import *  # noqa: F403  (the fixtures)
from contract_tests.fakes.azure import AzureFake, azure_error, translator_error
from contract_tests.fakes.scripted import Reply
from omnisense.schema import Task, TaskRequest, TextRequest, TranslateRequest

IMAGE = samples.jpeg(128, 96)  # Computer Vision needs 50x50 pixels at least


class OnFakes:
    @pytest.fixture
    def provider(self, azure_provider: AzureProvider) -> AzureProvider:
        return azure_provider


@pytest.mark.live
class OnLiveAzure:
    @pytest.fixture
    def provider(self, azure_live_provider: AzureProvider) -> AzureProvider:
        return azure_live_provider


# --- against the fake ----------------------------------------------------------------------


class TestAzureLabels(OnFakes, abstract.LabelsContract):
    sample = IMAGE
    expected_label = "person"


class TestAzureObjects(OnFakes, abstract.ObjectsContract):
    sample = IMAGE


class TestAzureFaces(OnFakes, abstract.FacesContract):
    sample = IMAGE
    expected_faces = 1


class TestAzureOcr(OnFakes, abstract.OcrContract):
    expected_text = "Our greatest glory is not"


class TestAzureModeration(OnFakes, abstract.ModerationContract):
    sample = IMAGE


class TestAzureSentiment(OnFakes, abstract.SentimentContract):
    pass


class TestAzureEntities(OnFakes, abstract.EntitiesContract):
    pass


class TestAzureKeyPhrases(OnFakes, abstract.KeyPhrasesContract):
    pass


class TestAzureLanguage(OnFakes, abstract.LanguageContract):
    pass


class TestAzureTranslate(OnFakes, abstract.TranslateContract):
    pass


class TestAzureTextModeration(OnFakes, abstract.TextModerationContract):
    expected_categories = {"hate"}  # Content Safety has no insult category: insults score as Hate


class TestAzureSynthesize(OnFakes, abstract.SynthesizeContract):
    output_format = "wav"


class TestAzureSynthesizeMp3(OnFakes, abstract.SynthesizeContract):
    output_format = "mp3"


class TestAzureTranscribe(OnFakes, abstract.TranscribeContract):
    expected_words = ("weather",)


# --- failures ------------------------------------------------------------------------------


class AzureFailures(abstract.FailureContract):
    timeout_s = 15.0
    op: ClassVar[str]
    replies: ClassVar[dict[str, list[Reply]]]

    @pytest.fixture
    def provider(self, azure_failing_provider: AzureProvider, azure_fake: AzureFake) -> Any:
        self.fake = azure_fake
        azure_fake.reset()
        yield azure_failing_provider
        azure_fake.reset()

    def arrange(self, kind: str) -> None:
        self.fake.fail(self.op, *self.replies[kind])


class TestAzureVisionFailures(AzureFailures):
    """Computer Vision's error bodies on ``analyze`` (vision.faces)."""

    op = "analyze"
    replies: ClassVar[dict[str, list[Reply]]] = {
        "auth": [Reply(status=401, json={"error": {"code": "401", "message": "Access denied due to invalid key"}})],
        "throttle": [
            azure_error(429, "429", "Rate limit is exceeded. Try again in 2 seconds.", **{"Retry-After": "2"})
        ],
        "timeout": [Reply(hang=True)],
        "server_error": [Reply(status=503, body=b"<html>Service Unavailable</html>", content_type="text/html")],
        "malformed": [Reply.malformed()],
        "error_in_200": [Reply(json={"error": {"code": "InternalServerError", "message": "oops"}})],
        "bad_input": [azure_error(400, "InvalidRequest", "Input image format is not supported.", "InvalidImageFormat")],
    }

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.VISION_FACES, image_request(IMAGE)


class TestAzureLanguageFailures(AzureFailures):
    """Language: a flat body, and a per-document error inside a 200 (never an empty result)."""

    op = "language"
    replies: ClassVar[dict[str, list[Reply]]] = {
        "auth": [Reply(status=403, json={"code": "Forbidden", "message": "Out of call volume quota."})],
        "throttle": [Reply(status=429, json={"statusCode": 429, "message": "Rate limit exceeded"})],
        "timeout": [Reply(hang=True)],
        "server_error": [azure_error(500, "InternalServerError", "Internal error.")],
        "malformed": [Reply.malformed()],
        "error_in_200": [
            Reply(
                json={
                    "kind": "SentimentAnalysisResults",
                    "results": {
                        "documents": [],
                        "errors": [
                            {
                                "id": "1",
                                "error": {
                                    "code": "InvalidArgument",
                                    "message": "Invalid document in request.",
                                    "innererror": {"code": "InvalidDocument", "message": "Document text is empty."},
                                },
                            }
                        ],
                        "modelVersion": "2022-11-01",
                    },
                }
            )
        ],
        "bad_input": [azure_error(400, "InvalidArgument", "Invalid parameter in request", "InvalidParameterValue")],
    }

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.TEXT_SENTIMENT, TextRequest(text=samples.POSITIVE, language="en")


class TestAzureTranslatorFailures(AzureFailures):
    """Translator's six-digit codes."""

    op = "translate"
    failure_kinds = ("auth", "throttle", "timeout", "server_error", "malformed", "bad_input")
    replies: ClassVar[dict[str, list[Reply]]] = {
        "auth": [translator_error(401000, "The request is not authorized because credentials are missing or invalid.")],
        "throttle": [
            translator_error(429001, "The server rejected the request because the client sent too many requests.")
        ],
        "timeout": [Reply(hang=True)],
        "server_error": [translator_error(503000, "Service is temporarily unavailable.")],
        "malformed": [Reply.malformed()],
        "bad_input": [translator_error(400050, "The input text is too long.")],
    }

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.TEXT_TRANSLATE, TranslateRequest(text="Hello", target_language="es")


class TestAzureSpeechFailures(AzureFailures):
    """Speech REST: empty or text bodies, the status decides."""

    op = "stt"
    replies: ClassVar[dict[str, list[Reply]]] = {
        "auth": [Reply(status=401, body=b"", content_type="text/plain")],
        "throttle": [
            Reply(status=429, body=b"Too many requests", content_type="text/plain", headers={"Retry-After": "1"})
        ],
        "timeout": [Reply(hang=True)],
        "server_error": [Reply(status=502, body=b"", content_type="text/plain")],
        "malformed": [Reply(status=200, body=b"<html>", content_type="application/json")],
        "error_in_200": [Reply(json={"RecognitionStatus": "Error"})],
        "bad_input": [Reply(status=400, body=b"Unsupported audio format", content_type="text/plain")],
    }

    def failing_call(self) -> tuple[Task, TaskRequest]:
        from omnisense.schema import Media, TranscribeRequest

        return Task.SPEECH_TRANSCRIBE, TranscribeRequest(
            audio=Media(data=samples.wav(1.0), format="wav"), language="en"
        )


class TestAzureContentSafetyFailures(AzureFailures):
    """Content Safety (text.moderation): the nested error body with an inner code."""

    op = "text_safety"
    failure_kinds = ("auth", "throttle", "timeout", "server_error", "malformed", "bad_input")
    replies: ClassVar[dict[str, list[Reply]]] = {
        "auth": [azure_error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.")],
        "throttle": [azure_error(429, "TooManyRequests", "Rate limit exceeded.", **{"Retry-After": "1"})],
        "timeout": [Reply(hang=True)],
        "server_error": [azure_error(500, "InternalServerError", "Internal error.")],
        "malformed": [Reply.malformed()],
        "bad_input": [azure_error(400, "InvalidRequestBody", "The text is too long.", "InvalidTextLength")],
    }

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.TEXT_MODERATION, TextRequest(text=samples.INSULT, language="en")


# --- against real Azure (-m live) ----------------------------------------------------------


class TestLiveLabels(OnLiveAzure, abstract.LabelsContract):
    sample = IMAGE


class TestLiveObjects(OnLiveAzure, abstract.ObjectsContract):
    sample = IMAGE


class TestLiveFaces(OnLiveAzure, abstract.FacesContract):
    sample = IMAGE
    expected_faces = 0  # the sample is a yellow disc


class TestLiveOcr(OnLiveAzure, abstract.OcrContract):
    pass


class TestLiveModeration(OnLiveAzure, abstract.ModerationContract):
    sample = IMAGE


class TestLiveSentiment(OnLiveAzure, abstract.SentimentContract):
    pass


class TestLiveEntities(OnLiveAzure, abstract.EntitiesContract):
    pass


class TestLiveKeyPhrases(OnLiveAzure, abstract.KeyPhrasesContract):
    pass


class TestLiveLanguage(OnLiveAzure, abstract.LanguageContract):
    pass


class TestLiveTranslate(OnLiveAzure, abstract.TranslateContract):
    pass


class TestLiveTextModeration(OnLiveAzure, abstract.TextModerationContract):
    expected_categories = {"hate"}


class TestLiveSynthesize(OnLiveAzure, abstract.SynthesizeContract):
    pass


class TestLiveTranscribe(OnLiveAzure, abstract.TranscribeContract):
    pass

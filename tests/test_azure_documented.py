"""The Azure adapter on Azure's documented example answers: no invented confidences (faces,
key phrases, Read lines without words, sentiment's mixed), Content Safety through the README's
table, Speech's most confident NBest, the pinned Language API version and a probe that checks the key."""

from __future__ import annotations

import copy
import re
import time
from fractions import Fraction
from pathlib import Path

import pytest

from adapters.azure import contentsafety, language, read, speech
from adapters.azure.provider import AzureProvider
from adapters.base import CallContext
from contract_tests.conftest_azure import *  # noqa: F403  (the fixtures)
from contract_tests.fakes import azure_examples as ex
from contract_tests.fakes.azure import AzureFake
from omnisense.schema import ImageRequest, Media, Task, TextRequest, UpstreamBadResponse

README = Path(__file__).resolve().parents[1] / "adapters" / "azure" / "README.md"
IMAGE = ImageRequest(image=Media(data=b"\xff\xd8\xff" + b"0" * 64, format="jpeg", width=640, height=480))


def test_key_phrases_have_no_confidence() -> None:
    # Azure's KeyPhraseExtraction example: phrases only, no offsets or scores.
    doc = {"id": "1", "keyPhrases": ["wonderful trip", "Seattle", "week"], "warnings": []}
    answer = {"kind": "KeyPhraseExtractionResults", "results": {"documents": [doc], "errors": [], "modelVersion": "x"}}
    text = "We had a wonderful trip to Seattle last week."
    result = language.from_vendor(Task.TEXT_KEY_PHRASES, answer, TextRequest(text=text))
    assert [(p.text, p.confidence) for p in result.phrases] == [  # type: ignore[union-attr]
        ("wonderful trip", None),
        ("Seattle", None),
        ("week", None),
    ]


def test_read_lines_average_their_words_and_a_line_without_words_has_none() -> None:
    answer = copy.deepcopy(ex.READ_RESULT)
    page = answer["analyzeResult"]["readResults"][0]
    words = page["lines"][0]["words"]
    assert words  # Azure's example gives each word a confidence
    expected = sum(w["confidence"] for w in words) / len(words)
    assert read.from_vendor(answer, IMAGE).lines[0].confidence == pytest.approx(expected)
    page["lines"][0]["words"] = []
    assert read.from_vendor(answer, IMAGE).lines[0].confidence is None


def test_content_safety_severities_through_the_readme_table() -> None:
    rows = re.findall(r"^\s*\| (\d) \| (?:safe|low|medium|high) \| ([\d/]+) \|$", README.read_text(), re.MULTILINE)
    table = {int(level): float(Fraction(value)) for level, value in rows}
    assert table == pytest.approx(contentsafety.SEVERITY) and set(table) == {0, 2, 4, 6}
    documented = contentsafety.text_result(ex.TEXT_ANALYSIS)  # Azure's text:analyze example
    assert all(f.confidence in contentsafety.SEVERITY.values() for f in documented.flags)
    with pytest.raises(ValueError, match="four levels"):
        contentsafety.severity_confidence(3)  # EightSeverityLevels was not asked for


def test_content_safety_off_scale_severity_is_a_bad_response() -> None:
    from adapters.kit import parsed

    with pytest.raises(UpstreamBadResponse):
        parsed(
            "azure", lambda: contentsafety.text_result({"categoriesAnalysis": [{"category": "Hate", "severity": 5}]})
        )


def test_speech_takes_the_most_confident_alternative() -> None:
    result = speech.transcribe_from_vendor(ex.RECOGNITION, "en-US")  # Azure's documented detailed answer
    assert (result.text, result.confidence) == ("what is the weather like", pytest.approx(0.92459863))
    nomatch = speech.transcribe_from_vendor({"RecognitionStatus": "NoMatch"}, "en-US")
    assert (nomatch.text, nomatch.confidence) == ("", None)


async def test_language_calls_pin_the_documented_api_version(
    azure_provider: AzureProvider, azure_fake: AzureFake
) -> None:
    await azure_provider.run(
        Task.TEXT_LANGUAGE,
        TextRequest(text="hello there"),
        CallContext(request_id="pin", deadline=time.monotonic() + 10),
    )
    assert language.API_VERSION == "2023-04-01"
    assert {c.query.get("api-version") for c in azure_fake.calls("language")} == {language.API_VERSION}


async def test_the_probe_translates_one_character(azure_provider: AzureProvider, azure_fake: AzureFake) -> None:
    before = len(azure_fake.calls("translate"))
    health = await azure_provider.probe()
    calls = azure_fake.calls("translate")[before:]
    assert health.ok and len(calls) == 1 and calls[0].json() == [{"text": "."}]
    assert not azure_fake.calls("languages")  # GET /languages checks no key

"""Comprehend DetectToxicContent behind text.moderation: segments, labels, limits."""

from __future__ import annotations

import pytest

from adapters.aws import toxicity
from omnisense.schema import InvalidInput, PayloadTooLarge, TextModerationResult, Unsupported


def test_short_text_is_one_segment_in_english() -> None:
    assert toxicity.to_vendor("You idiot", None) == {"TextSegments": [{"Text": "You idiot"}], "LanguageCode": "en"}
    assert toxicity.to_vendor("You idiot", "en-GB")["LanguageCode"] == "en"


def test_long_text_is_cut_at_whitespace_within_the_byte_limit() -> None:
    text = ("naïve café " * 300).strip()  # multi-byte characters: bytes, not characters, count
    parts = toxicity.segments(text)
    assert "".join(parts) == text
    assert all(len(p.encode()) <= toxicity.SEGMENT_BYTES for p in parts)
    assert all(p.endswith(" ") for p in parts[:-1]), "cut at whitespace"
    unbroken = "x" * 2500
    assert [len(p) for p in toxicity.segments(unbroken)] == [1000, 1000, 500]


def test_a_text_within_the_limit_always_fits_in_ten_segments() -> None:
    text = ("a" * 590 + " ") * 16  # 9,456 bytes: at whitespace it would take 16 segments
    params = toxicity.to_vendor(text, "en")
    parts = [s["Text"] for s in params["TextSegments"]]
    assert len(parts) == 10 and "".join(parts) == text
    assert all(len(p.encode()) <= toxicity.SEGMENT_BYTES for p in parts)


def test_limits_and_language_are_checked_before_the_call() -> None:
    with pytest.raises(PayloadTooLarge):
        toxicity.to_vendor("word " * 2500, "en")  # 12,500 bytes: more than 10 segments
    with pytest.raises(Unsupported):
        toxicity.to_vendor("Du Idiot", "de")
    with pytest.raises(InvalidInput):
        toxicity.to_vendor("   ", "en")


def test_labels_map_to_the_fixed_categories_and_keep_the_vendor_name() -> None:
    names = ["PROFANITY", "HATE_SPEECH", "INSULT", "GRAPHIC", "HARASSMENT_OR_ABUSE", "SEXUAL", "VIOLENCE_OR_THREAT"]
    response = {
        "ResultList": [
            {"Labels": [{"Name": n, "Score": 0.1} for n in names] + [{"Name": "SOMETHING_NEW", "Score": 0.2}],
             "Toxicity": 0.3},
            {"Labels": [{"Name": "INSULT", "Score": 0.97}], "Toxicity": 0.9},
        ]
    }  # fmt: skip
    result = toxicity.from_vendor(response)
    assert isinstance(result, TextModerationResult) and result.flagged
    by_vendor = {f.vendor_category: f for f in result.flags}
    assert by_vendor["INSULT"].confidence == pytest.approx(0.97)  # the highest over the segments
    assert by_vendor["TOXICITY"].category == "toxicity" and by_vendor["TOXICITY"].confidence == pytest.approx(0.9)
    assert {n: by_vendor[n].category for n in names} == {
        "PROFANITY": "profanity",
        "HATE_SPEECH": "hate",
        "INSULT": "insult",
        "GRAPHIC": "violence",
        "HARASSMENT_OR_ABUSE": "insult",
        "SEXUAL": "sexual",
        "VIOLENCE_OR_THREAT": "threat",
    }
    assert by_vendor["SOMETHING_NEW"].category == "other"
    assert result.flags[0].vendor_category == "INSULT"


def test_low_scores_are_not_flagged() -> None:
    result = toxicity.from_vendor({"ResultList": [{"Labels": [{"Name": "INSULT", "Score": 0.2}], "Toxicity": 0.3}]})
    assert not result.flagged and [f.category for f in result.flags] == ["toxicity", "insult"]

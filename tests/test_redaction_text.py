"""Typed placeholders and the way back (``gateway.redaction.text``): offsets into the caller's text."""

from __future__ import annotations

from adapters.base import PiiSpan
from gateway.redaction.session import map_back
from gateway.redaction.text import Masked, Numbering, restore
from omnisense.schema import EntitiesResult, Entity, TranslateResult

TEXT = "Mail ann@example.com, then ann@example.com again; Bob Lee pays."


def _masked() -> tuple[Masked, Numbering]:
    numbering = Numbering()
    at = TEXT.index("ann@")
    second = TEXT.index("ann@", at + 1)
    bob = TEXT.index("Bob Lee")
    spans = [
        PiiSpan(begin=b, end=b + n, type=t)
        for b, n, t in [(at, 15, "EMAIL"), (second, 15, "EMAIL"), (bob, 7, "PERSON")]
    ]
    return Masked.of(TEXT, spans, numbering), numbering


def test_one_value_one_placeholder() -> None:
    masked, numbering = _masked()
    assert masked.text == "Mail <EMAIL_1>, then <EMAIL_1> again; <PERSON_1> pays."
    assert masked.counts() == {"EMAIL": 2, "PERSON": 1}
    assert numbering.values() == {"<EMAIL_1>": "ann@example.com", "<PERSON_1>": "Bob Lee"}


def test_spans_map_back_into_the_original() -> None:
    masked, numbering = _masked()
    m = masked.text
    found = EntitiesResult(
        entities=[
            Entity(text="<PERSON_1>", type="PERSON", begin=m.index("<PERSON_1>"), end=m.index("<PERSON_1>") + 10,
                   confidence=0.9),
            Entity(text="pays", type="OTHER", begin=m.index("pays"), end=m.index("pays") + 4, confidence=None),
            Entity(text="PERSON", type="OTHER", begin=m.index("PERSON_1"), end=m.index("PERSON_1") + 6,
                   confidence=None),  # a piece of a placeholder: widened to the whole value
        ]
    )  # fmt: skip
    back = map_back(found, masked, numbering.values())
    assert isinstance(back, EntitiesResult)
    for e in back.entities:
        assert TEXT[e.begin : e.end] == e.text
    assert [e.text for e in back.entities] == ["Bob Lee", "pays", "Bob Lee"]


def test_translation_placeholders_restored_even_escaped() -> None:
    values = {"<EMAIL_1>": "ann@example.com", "<PERSON_1>": "Bob Lee"}
    assert restore("Escribe a &lt;EMAIL_1&gt;; < PERSON_1 > paga. <CARD_9>", values) == (
        "Escribe a ann@example.com; Bob Lee paga. <CARD_9>"
    )
    result = map_back(TranslateResult(text="<PERSON_1> paga", source_language="en", target_language="es"),
                      _masked()[0], values)  # fmt: skip
    assert isinstance(result, TranslateResult) and result.text == "Bob Lee paga"

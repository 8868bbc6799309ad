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


async def test_many_texts_are_asked_in_chunks_the_model_server_takes() -> None:
    """A long OCR document's lines: the model server takes at most 256 texts a call."""
    from adapters.base import BlurredImage, PiiFound
    from gateway.logs.record import RequestLog
    from gateway.redaction.session import TEXTS_PER_CALL, Redaction
    from omnisense.schema import Task
    from policies.model import PolicyFile, Route

    class CountingRedactor:  # answers like /redact/text: one span list per text asked, 256 at most
        def __init__(self) -> None:
            self.calls: list[int] = []

        async def find_pii(self, texts: list[str], timeout_s: float) -> PiiFound:
            assert len(texts) <= TEXTS_PER_CALL
            self.calls.append(len(texts))
            spans = [[PiiSpan(begin=0, end=3, type="PERSON")] if t.startswith("Ann") else [] for t in texts]
            return PiiFound(spans=spans, version="counting")

        async def blur(self, image: bytes, *, faces: bool, text: bool, timeout_s: float) -> BlurredImage:
            raise AssertionError("no image here")

    redactor = CountingRedactor()
    policy = PolicyFile(providers={"local": {"kind": "local"}})
    record = RequestLog(request_id="r", time=0.0, task="vision.ocr", status="ok", http_status=0, latency_ms=0.0)
    session = Redaction(policy, {"local": redactor}).session(Task.VISION_OCR, Route(redact_output=["pii"]), record)  # type: ignore[dict-item]
    assert session is not None
    texts = [f"line {i}" for i in range(600)] + ["Ann was here"]
    found = await session.find(texts)
    assert redactor.calls == [256, 256, 89] and len(found.spans) == 601
    assert found.spans[-1] == [PiiSpan(begin=0, end=3, type="PERSON")] and found.version == "counting"

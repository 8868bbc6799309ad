"""``omnisense eval`` on the set the repo ships, against a running gateway whose providers
answer known labels: the table and the JSON say exactly how each one did."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.eval_cli import eval_command
from gateway.evaluation import SetError, load_set
from gateway.logs import MemorySink
from omnisense.schema import Task
from tests.conftest import LiveServer, make_config

SET = Path(__file__).resolve().parent.parent / "examples" / "eval" / "sentiment.jsonl"
ANSWERS = "tests.answer_provider:AnswerProvider"
FLIP = {"positive": "negative", "negative": "positive", "neutral": "positive"}


def result(label: str) -> dict[str, Any]:
    scores = {k: (0.9 if k == label else 0.0) for k in ("positive", "negative", "neutral", "mixed")}
    return {"label": label, "scores": scores}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LiveServer]:
    examples = load_set(SET, Task.TEXT_SENTIMENT)
    truth = {e.text: e.expected["label"] for e in examples}
    wrong = {t: FLIP[label] for i, (t, label) in enumerate(truth.items()) if i % 4 == 0}  # 5 of 20 wrong
    providers = {
        "oracle": {"kind": ANSWERS, "task": "text.sentiment", "price_usd": 0.001,
                   "answers": {t: result(label) for t, label in truth.items()}},
        "rough": {"kind": ANSWERS, "task": "text.sentiment",
                  "answers": {t: result(wrong.get(t, label)) for t, label in truth.items()}},
        "down": {"kind": "oip", "url": "http://127.0.0.1:9", "model": "m", "task": "text.sentiment",
                 "inputs": [{"name": "text", "from": "text"}], "outputs": {"label": "predict"}},
    }  # fmt: skip
    policy = {"version": 1, "providers": providers, "routes": {"text.sentiment": {"candidates": list(providers)}}}
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    with LiveServer(make_config(path), MemorySink()) as server:
        yield server


def args(url: str, *, as_json: bool, providers: str = "oracle,rough,down") -> argparse.Namespace:
    return argparse.Namespace(file=SET, task="text.sentiment", providers=providers, url=url, timeout=10.0, json=as_json)


def test_json_results_per_provider(gateway: LiveServer) -> None:
    out = io.StringIO()
    assert eval_command(args(gateway.url, as_json=True), out) == 0
    body = json.loads(out.getvalue())
    oracle, rough, down = body["results"]
    assert (oracle["provider"], oracle["examples"], oracle["errors"], oracle["metric"]) == ("oracle", 20, 0, "label")
    assert oracle["score"] == 1.0 and oracle["agreement"] == 1.0
    assert oracle["cost_usd"] == pytest.approx(
        sum(len(e.text or "") for e in load_set(SET, Task.TEXT_SENTIMENT)) * 0.001
    )
    assert rough["score"] == 0.75 and rough["errors"] == 0 and rough["cost_usd"] == 0.0
    assert down["errors"] == 20 and down["score"] is None and down["error_types"] == {"UpstreamUnavailable": 20}
    assert oracle["p50_ms"] is not None and oracle["p95_ms"] >= oracle["p50_ms"]


def test_table_with_progress(gateway: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert eval_command(args(gateway.url, as_json=False, providers="oracle,rough"), out) == 0
    table = out.getvalue()
    lines = {line.split()[0]: line for line in table.splitlines() if line.split()[:1] in (["oracle"], ["rough"])}
    assert "text.sentiment: 20 examples" in table and "accuracy" in table
    assert "1.000" in lines["oracle"] and "100.0%" in lines["oracle"]
    assert "0.750" in lines["rough"] and "75.0%" in lines["rough"]
    assert "text.sentiment on rough" in capsys.readouterr().out  # the progress bar


def test_a_bad_set_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "expected": {"label": "positive"}}\n{"text": "x", "expected": {"mood": 1}}\n')
    with pytest.raises(SetError, match=r"bad.jsonl:2: expected: neither 'label'"):
        load_set(bad, Task.TEXT_SENTIMENT)
    out = io.StringIO()
    code = eval_command(argparse.Namespace(
        file=bad, task="text.sentiment", providers="a", url="http://127.0.0.1:9", timeout=1.0, json=True
    ), out)  # fmt: skip
    assert code == 2 and out.getvalue() == ""


def test_images_by_path_relative_to_the_set(tmp_path: Path) -> None:
    from contract_tests.samples import png
    from tests.answer_provider import key_of

    images = {"red.png": png(20, 20, (255, 0, 0)), "blue.png": png(20, 20, (0, 0, 255))}
    (tmp_path / "img").mkdir()
    for name, data in images.items():
        (tmp_path / "img" / name).write_bytes(data)
    lines = [
        {"image": "img/red.png", "expected": {"label": "red"}},
        {"image": "img/blue.png", "expected": {"label": "blue"}},
    ]
    labelled = tmp_path / "colours.jsonl"
    labelled.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    def answers(names: dict[str, str]) -> dict[str, Any]:
        from omnisense.schema import ImageRequest, Media

        return {
            key_of(ImageRequest(image=Media(data=images[f], format="png"))): {
                "labels": [{"name": n, "confidence": 0.9}]
            }
            for f, n in names.items()
        }

    providers = {
        "right": {"kind": ANSWERS, "task": "vision.labels", "answers": answers({"red.png": "red", "blue.png": "blue"})},
        "colourblind": {"kind": ANSWERS, "task": "vision.labels",
                        "answers": answers({"red.png": "red", "blue.png": "red"})},
    }  # fmt: skip
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        json.dumps({"version": 1, "providers": providers, "routes": {"vision.labels": {"candidates": ["right"]}}})
    )
    with LiveServer(make_config(policy), MemorySink()) as server:
        out = io.StringIO()
        ns = argparse.Namespace(
            file=labelled, task="vision.labels", providers="right,colourblind", url=server.url, timeout=10.0, json=True
        )
        assert eval_command(ns, out) == 0
    right, colourblind = json.loads(out.getvalue())["results"]
    assert (right["score"], colourblind["score"]) == (1.0, 0.5)

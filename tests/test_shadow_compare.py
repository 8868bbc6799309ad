"""Shadow comparison as an operator sees it: scripted providers whose answers agree and
disagree by known amounts, and the figures in the log record, ``/v1/stats``, ``/metrics``
and ``omnisense compare``."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests.samples import png, wav
from gateway.eval_cli import compare_command
from gateway.logs import MemorySink
from gateway.logs.cli_commands import stats_command
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from tests.routing_helpers import wait_for

ANSWERS = "tests.answer_provider:AnswerProvider"
SCORES = {"positive": 0.9, "negative": 0.1, "neutral": 0.0, "mixed": 0.0}
POSITIVE = {"label": "positive", "scores": SCORES}
NEGATIVE = {"label": "negative", "scores": {**SCORES, "positive": 0.1, "negative": 0.9}}
TEXTS = [f"review number {i}" for i in range(10)]  # the shadow disagrees on the last three
IMAGE, AUDIO = png(100, 100), wav(0.5)
BOX = {"left": 0.0, "top": 0.0, "width": 0.5, "height": 0.5}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def policy() -> str:
    shadow_answers = {t: (NEGATIVE if i >= 7 else POSITIVE) for i, t in enumerate(TEXTS)}
    providers = {
        "served": {"kind": ANSWERS, "task": "text.sentiment", "default": POSITIVE},
        "candidate": {"kind": ANSWERS, "task": "text.sentiment", "answers": shadow_answers, "default": POSITIVE},
        "asr": {"kind": ANSWERS, "task": "speech.transcribe",
                "default": {"text": "the cat sat on the mat", "confidence": 0.9}},
        "asr-next": {"kind": ANSWERS, "task": "speech.transcribe",
                     "answers": {_sha(AUDIO): {"text": "the cat sat on a mat", "confidence": 0.9}}},
        "detector": {"kind": ANSWERS, "task": "vision.objects", "default": {"objects": [
            {"name": "cat", "confidence": 0.9, "box": BOX},
            {"name": "dog", "confidence": 0.8, "box": {"left": 0.5, "top": 0.5, "width": 0.5, "height": 0.5}}]}},
        # One of the two boxes, shifted by a tenth of its width (IoU 0.818 > 0.5): box F1 = 2*1/(2+1).
        "detector-next": {"kind": ANSWERS, "task": "vision.objects", "default": {"objects": [
            {"name": "cat", "confidence": 0.7, "box": {**BOX, "left": 0.05}}]}},
    }  # fmt: skip
    routes = {
        "text.sentiment": {"candidates": ["served"], "shadow": ["candidate"]},
        "speech.transcribe": {"candidates": ["asr"], "shadow": ["asr-next"]},
        "vision.objects": {"candidates": ["detector"], "shadow": ["detector-next"]},
    }
    return json.dumps({"version": 1, "providers": providers, "routes": routes})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "requests.db"


@pytest.fixture
def client(tmp_path: Path, db: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    path = tmp_path / "policy.yaml"
    path.write_text(policy())
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="sqlite", path=str(db)), policy_watch_s=None)
    with TestClient(create_app(config)) as c:
        yield c


def _traffic(client: Any) -> None:
    for text in TEXTS:
        assert client.post("/v1/text/sentiment", json={"text": text}).json()["provider"] == "served"
    for _ in range(2):
        r = client.post("/v1/speech/transcribe", content=AUDIO, headers={"content-type": "audio/wav"})
        assert r.status_code == 200, r.text
        r = client.post("/v1/vision/objects", content=IMAGE, headers={"content-type": "image/png"})
        assert r.status_code == 200, r.text


def _comparisons(client: Any) -> dict[str, dict[str, Any]]:
    def rows() -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = client.get("/v1/stats", params={"window": "1h"}).json()["comparisons"]
        return body

    wait_for(lambda: sum(r["shadowed"] for r in rows()) == 14, timeout_s=10)
    return {r["task"]: r for r in rows()}


def test_agreement_per_task_in_stats_and_metrics(client: Any) -> None:
    _traffic(client)
    rows = _comparisons(client)
    sentiment = rows["text.sentiment"]
    assert (sentiment["served"], sentiment["shadow"]) == ("served", "candidate")
    assert (sentiment["shadowed"], sentiment["compared"], sentiment["agreed"]) == (10, 10, 7)
    assert sentiment["agreement"] == 0.7 and sentiment["metric"] == "label" and sentiment["mean_score"] == 0.7
    transcribe = rows["speech.transcribe"]
    assert transcribe["metric"] == "wer" and transcribe["mean_score"] == pytest.approx(1 / 6, abs=1e-4)
    assert transcribe["agreement"] == 1.0  # a WER of 0.17 is within 0.2
    objects = rows["vision.objects"]
    assert objects["metric"] == "iou" and objects["mean_score"] == pytest.approx(2 / 3, abs=1e-4)
    assert objects["agreement"] == 0.0

    metrics = client.get("/metrics").text
    labels = 'served="served",shadow="candidate",task="text.sentiment"'
    assert f'omnisense_shadow_compared_total{{agrees="true",{labels}}} 7.0' in metrics
    assert f'omnisense_shadow_compared_total{{agrees="false",{labels}}} 3.0' in metrics
    assert f'omnisense_shadow_runs_total{{outcome="ok",{labels}}} 10.0' in metrics
    assert (
        'omnisense_shadow_score_count{metric="wer",served="asr",shadow="asr-next",task="speech.transcribe"} 2.0'
        in metrics
    )


def test_the_record_carries_each_shadows_metric(client: Any) -> None:
    _traffic(client)
    _comparisons(client)
    records = client.get("/v1/logs", params={"task": "text.sentiment", "limit": 20}).json()["records"]
    by_text_index = sorted(records, key=lambda r: r["time"])
    shadows = [r["shadow"][0] for r in by_text_index]
    assert [s["agrees"] for s in shadows] == [True] * 7 + [False] * 3
    assert {s["metric"] for s in shadows} == {"label"} and [s["score"] for s in shadows[-3:]] == [0.0] * 3


def test_omnisense_compare_reads_the_log(client: Any, db: Path) -> None:
    _traffic(client)
    _comparisons(client)
    args = argparse.Namespace(
        task="text.sentiment", since="1h", config=None, json=False,
        settings_from=lambda _path: LogSettings(sink="sqlite", path=str(db)),
    )  # fmt: skip
    out = io.StringIO()
    assert compare_command(args, out) == 0
    table = out.getvalue()
    assert "served" in table and "candidate" in table and "70.0%" in table and "label" in table
    args.json = True
    out = io.StringIO()
    assert compare_command(args, out) == 0
    [row] = json.loads(out.getvalue())["comparisons"]
    assert (row["shadowed"], row["agreed"], row["agreement"]) == (10, 7, 0.7)
    args.window, args.json, out = "1h", False, io.StringIO()
    assert stats_command(args, out) == 0
    assert "shadow text.sentiment: candidate agrees with served on 70.0% of 10 (label)" in out.getvalue()


def test_memory_sink_answers_the_same(tmp_path: Path) -> None:
    """The scan path (memory and JSON-lines sinks) filters shadowed records like SQL does."""
    path = tmp_path / "policy.yaml"
    path.write_text(policy())
    sink = MemorySink()
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), policy_watch_s=None)
    with TestClient(create_app(config, sink=sink)) as client:
        _traffic(client)
        rows = _comparisons(client)
    assert rows["text.sentiment"]["agreed"] == 7

"""The quality table through a real gateway, on SQLite and on PostgreSQL.

Three scripted providers answer text.sentiment per input text: ``a`` (cheap) is right only
in English, ``b`` (cheap) only in Spanish, ``c`` (expensive) in both. ``omnisense eval`` on a
labelled set in both languages reports its reference samples; the table then shows who is
right where (``GET /v1/quality``, ``omnisense quality``, ``/metrics``), and ``best_quality``
sends English to ``a``, Spanish to ``b`` and a language with no evidence to the route's first
(``c``), with ``explain`` naming the figures. Shadows add agreement samples the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.eval_cli import eval_command
from gateway.logs.settings import LogSettings
from gateway.quality.cli_commands import quality_command
from gateway.server.config import ApiKey, GatewayConfig, hash_key
from tests.conftest import LiveServer, service_missing, wait_for
from tests.test_logs_stores import PG_DSN, drop_schema, pg_available

ANSWERS = "tests.answer_provider:AnswerProvider"
FLIP = {"positive": "negative", "negative": "positive"}
ENGLISH = {
    "What a lovely day": "positive", "I love this phone": "positive", "The staff were kind": "positive",
    "This is terrible": "negative", "I hate waiting": "negative", "The food was awful": "negative",
}  # fmt: skip
SPANISH = {
    "Qué día tan bonito": "positive", "Me encanta este teléfono": "positive", "El personal fue amable": "positive",
    "Esto es terrible": "negative", "Odio esperar": "negative", "La comida fue horrible": "negative",
}  # fmt: skip
PRICES = {"a": 0.0001, "b": 0.0001, "c": 0.01}


def result(label: str) -> dict[str, Any]:
    return {
        "label": label,
        "scores": {k: (0.9 if k == label else 0.05) for k in ("positive", "negative", "neutral", "mixed")},
    }


def answers(right_in: tuple[dict[str, str], ...]) -> dict[str, Any]:
    both = {**ENGLISH, **SPANISH}
    return {t: result(label if any(t in lang for lang in right_in) else FLIP[label]) for t, label in both.items()}


def policy(path: Path, route: dict[str, Any]) -> Path:
    right = {"a": (ENGLISH,), "b": (SPANISH,), "c": (ENGLISH, SPANISH)}
    providers = {
        name: {"kind": ANSWERS, "task": "text.sentiment", "price_usd": PRICES[name], "answers": answers(right[name]),
               "default": result("positive")}
        for name in ("a", "b", "c")
    }  # fmt: skip
    path.write_text(json.dumps({"version": 1, "providers": providers, "routes": {"text.sentiment": route}}))
    return path


BEST = {"strategy": "best_quality", "best_quality": {"min_samples": 5, "explore": 0}, "candidates": ["c", "a", "b"]}


@pytest.fixture(params=["sqlite", "postgres"])
def logs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogSettings]:
    if request.param == "sqlite":
        yield LogSettings(sink="sqlite", path=str(tmp_path / "requests.db"))
        return
    if not asyncio.run(pg_available()):
        service_missing(f"no PostgreSQL at {PG_DSN}")
    schema = f"omnisense_test_{uuid.uuid4().hex[:12]}"
    try:
        yield LogSettings(sink="postgres", dsn=PG_DSN, schema=schema)
    finally:
        asyncio.run(drop_schema(schema))


def serve(path: Path, logs: LogSettings, **extra: Any) -> LiveServer:
    return LiveServer(GatewayConfig(policy=str(path), logs=logs, **extra), None)


def eval_set(path: Path) -> Path:
    lines = [{"text": t, "language": "en", "expected": {"label": v}} for t, v in ENGLISH.items()]
    lines += [{"text": t, "language": "es", "expected": {"label": v}} for t, v in SPANISH.items()]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def run_eval(url: str, file: Path) -> dict[str, Any]:
    args = argparse.Namespace(file=file, task="text.sentiment", providers="a,b,c", url=url, timeout=10.0, json=True,
                              no_report=False)  # fmt: skip
    out = io.StringIO()
    assert eval_command(args, out) == 0
    body: dict[str, Any] = json.loads(out.getvalue())
    return body


def table(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], tuple[int, float]]:
    return {(r["language"], r["provider"], r["source"]): (r["samples"], r["score"]) for r in rows}


def served_by(url: str, language: str, text: str = "What a lovely day") -> str:
    body = httpx.post(f"{url}/v1/text/sentiment", json={"text": text, "language": language}).json()
    provider: str = body["provider"]
    return provider


def test_eval_fills_the_table_and_best_quality_routes_on_it(tmp_path: Path, logs: LogSettings) -> None:
    with serve(policy(tmp_path / "policy.json", BEST), logs) as gw:
        assert served_by(gw.url, "en") == "c"  # no evidence yet: the route's order
        assert run_eval(gw.url, eval_set(tmp_path / "set.jsonl"))["reported"] == 36
        rows = httpx.get(f"{gw.url}/v1/quality", params={"task": "text.sentiment"}).json()["rows"]
        assert table(rows) == {
            ("en", "a", "reference"): (6, 1.0), ("en", "b", "reference"): (6, 0.0), ("en", "c", "reference"): (6, 1.0),
            ("es", "a", "reference"): (6, 0.0), ("es", "b", "reference"): (6, 1.0), ("es", "c", "reference"): (6, 1.0),
        }  # fmt: skip
        assert all(r["window"]["since"] <= r["window"]["until"] for r in rows)
        assert [served_by(gw.url, lang) for lang in ("en", "en-GB", "es", "fr")] == ["a", "a", "b", "c"]

        explain = httpx.post(
            f"{gw.url}/v1/route/explain", json={"task": "text.sentiment", "text": "Hi", "language": "en"}
        )
        reasons = [d["reason"] for d in explain.json()["decisions"]]
        assert reasons[0].startswith("#1: reference 1.000 over 6 samples (en), cost $0.000200; within 0.02")
        assert reasons[1].startswith("#2: reference 1.000 over 6 samples (en), cost $0.020000")
        assert reasons[2].startswith("#3: reference 0.000 over 6 samples (en)") and "below the best" in reasons[2]

        metrics = httpx.get(f"{gw.url}/metrics").text
        labels = 'language="es",provider="b",source="reference",task="text.sentiment"'
        assert f"omnisense_quality_score{{{labels}}} 1.0" in metrics
        assert f"omnisense_quality_samples{{{labels}}} 6.0" in metrics

    # omnisense quality reads the store the config names, with the gateway stopped
    out = io.StringIO()
    args = argparse.Namespace(task="text.sentiment", language="es", provider=None, source=None, since="1h",
                              config=None, url=None, json=True, settings_from=lambda path: logs)  # fmt: skip
    assert quality_command(args, out) == 0
    assert table(json.loads(out.getvalue())["rows"]) == {
        ("es", "a", "reference"): (6, 0.0),
        ("es", "b", "reference"): (6, 1.0),
        ("es", "c", "reference"): (6, 1.0),
    }
    out = io.StringIO()
    assert quality_command(argparse.Namespace(**{**vars(args), "json": False, "language": None}), out) == 0
    lines = [line.split() for line in out.getvalue().splitlines()]
    assert ["text.sentiment", "en", "a", "reference", "6", "1.000"] in [line[:6] for line in lines]
    assert ["text.sentiment", "es", "a", "reference", "6", "0.000"] in [line[:6] for line in lines]


def test_fanout_warms_the_table_and_best_quality_routes_on_it(tmp_path: Path, logs: LogSettings) -> None:
    """Issue #26's loop: fan-outs find who is wrong where, the table shows it, best_quality acts on it."""
    with serve(policy(tmp_path / "policy.json", BEST), logs) as gw:
        assert served_by(gw.url, "es", "Odio esperar") == "c"  # no evidence yet: the route's order
        for lang, texts in (("en", ENGLISH), ("es", SPANISH)):
            for text, label in texts.items():
                fanout = {"text": text, "language": lang, "providers": ["a", "b", "c"]}
                body = httpx.post(f"{gw.url}/v1/text/sentiment", json=fanout).json()
                assert body["result"]["label"] == label and body["consensus"] == body["result"]  # right in both
                right = {"a": lang == "en", "b": lang == "es", "c": True}
                assert {a["provider"]: a["agreement"] for a in body["answers"]} == {
                    name: 1.0 if ok else 0.0 for name, ok in right.items()
                }
                assert body["agreement"] == pytest.approx(2 / 3, abs=1e-4)
                assert body["usage"]["cost_usd"] == pytest.approx(sum(PRICES.values()) * len(text))  # every call

        def agreement() -> dict[tuple[str, str, str], tuple[int, float]]:
            return table(httpx.get(f"{gw.url}/v1/quality", params={"source": "agreement"}).json()["rows"])

        wait_for(lambda: len(agreement()) == 6)
        assert agreement() == {
            ("en", "a", "agreement"): (6, 1.0), ("en", "b", "agreement"): (6, 0.0), ("en", "c", "agreement"): (6, 1.0),
            ("es", "a", "agreement"): (6, 0.0), ("es", "b", "agreement"): (6, 1.0), ("es", "c", "agreement"): (6, 1.0),
        }  # fmt: skip
        # the cheapest provider right in each language serves it; the expensive one stays the fallback
        assert [served_by(gw.url, lang) for lang in ("en", "es", "fr")] == ["a", "b", "c"]
        explain = httpx.post(
            f"{gw.url}/v1/route/explain", json={"task": "text.sentiment", "text": "Hola", "language": "es"}
        )
        reasons = [d["reason"] for d in explain.json()["decisions"]]
        assert reasons[0].startswith("#1: agreement 1.000 over 6 samples (es)") and "b" in explain.text


def test_shadows_are_agreement_samples(tmp_path: Path, logs: LogSettings) -> None:
    route = {"candidates": ["c"], "shadow": ["a", "b"]}
    with serve(policy(tmp_path / "policy.json", route), logs) as gw:
        for lang, texts in (("en", ENGLISH), ("es", SPANISH)):
            for text in texts:
                assert served_by(gw.url, lang, text) == "c"

        def agreement() -> dict[tuple[str, str, str], tuple[int, float]]:
            got = httpx.get(f"{gw.url}/v1/quality", params={"source": "agreement"}).json()["rows"]
            return table(got)

        expected = {("en", "a", "agreement"): (6, 1.0), ("en", "b", "agreement"): (6, 0.0),
                    ("es", "a", "agreement"): (6, 0.0), ("es", "b", "agreement"): (6, 1.0)}  # fmt: skip
        assert wait_for(lambda: agreement() == expected), agreement()


def test_replicas_share_the_table_through_the_store(tmp_path: Path, logs: LogSettings) -> None:
    fast = LogSettings(**{**{f: getattr(logs, f) for f in logs.__struct_fields__}, "quality_refresh_s": 0.2})
    path = policy(tmp_path / "policy.json", BEST)
    with serve(path, fast) as one, serve(path, fast) as two:
        assert served_by(two.url, "es") == "c"
        assert run_eval(one.url, eval_set(tmp_path / "set.jsonl"))["reported"] == 36
        assert wait_for(lambda: served_by(two.url, "es") == "b", seconds=10)  # two read one's samples back
        assert served_by(two.url, "en") == "a"


def test_bad_filters_name_the_parameter(tmp_path: Path) -> None:
    with serve(policy(tmp_path / "policy.json", BEST), LogSettings(sink="none")) as gw:
        for params, name in [
            ({"since": "yesterday-ish"}, "since"),
            ({"window": "0"}, "window"),
            ({"window": "1h", "since": "1h"}, "window"),
            ({"task": "text.nope"}, "task"),
            ({"source": "gossip"}, "source"),
            ({"language": "e n!"}, "language"),
        ]:
            answer = httpx.get(f"{gw.url}/v1/quality", params=params)
            assert answer.status_code == 400, params
            assert answer.json()["detail"].startswith(f"{name}: ") and answer.json()["field"] == name
        over = {"task": "text.sentiment", "provider": "a", "source": "reference", "score": 1.5}
        bad = httpx.post(f"{gw.url}/v1/quality", json={"samples": [over]})
        assert bad.status_code == 422 and "samples[0].score" in bad.json()["detail"]


def test_the_table_needs_an_admin_key(tmp_path: Path) -> None:
    keys = [ApiKey(id="user", sha256=hash_key("u-secret")), ApiKey(id="ops", sha256=hash_key("a-secret"), admin=True)]
    sample = {"task": "text.sentiment", "language": "es-MX", "provider": "a", "source": "agreement", "score": 0.5}
    with serve(policy(tmp_path / "policy.json", BEST), LogSettings(sink="none"), keys=keys) as gw:
        url = f"{gw.url}/v1/quality"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer u-secret"}).status_code == 403
        assert (
            httpx.post(url, json={"samples": [sample]}, headers={"Authorization": "Bearer u-secret"}).status_code == 403
        )
        admin = {"Authorization": "Bearer a-secret"}
        assert httpx.post(url, json={"samples": [sample]}, headers=admin).json() == {"recorded": 1}
        rows = httpx.get(url, headers=admin).json()["rows"]  # kept in memory (logs.sink: none)
        assert table(rows) == {("es", "a", "agreement"): (1, 0.5)}

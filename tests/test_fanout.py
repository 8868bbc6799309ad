"""Fan-out end to end: a real gateway, providers right or wrong by language, failures, budgets,
the tiebreak, the log record and the quality samples (``gateway.fanout``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from contract_tests.scripted_provider import Fail, Hang
from gateway.dispatch import Dispatcher
from gateway.logs import MemorySink
from gateway.routing import RoutingDeps, build_routing, close_routing
from gateway.trace import RequestTrace
from omnisense.schema import Task, TextRequest, UpstreamUnavailable
from tests.fanout_helpers import TEXTS, Recorder, auth, cost_of, gateway, policy
from tests.routing_helpers import wait_for

THREE = ["aws", "google", "azure"]


def sentiment(client: Any, text: str, providers: list[str] | None = None, **headers: str) -> Any:
    body: dict[str, Any] = {"text": text, "language": TEXTS[text][0] if text in TEXTS else "en"}
    if providers is not None:
        body["providers"] = providers
    return client.post("/v1/text/sentiment", json=body, headers=headers or auth("team"))


def by_provider(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["provider"]: a for a in body["answers"]}


def test_consensus_is_right_in_both_languages_and_agreement_shows_who_was_wrong(tmp_path: Path) -> None:
    sink = MemorySink()
    with gateway(tmp_path, sink) as client:
        recorder = Recorder()
        client.app.state.runtime.dispatcher.fanout.quality = recorder
        for text, (language, right) in TEXTS.items():
            r = sentiment(client, text, THREE)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["result"]["label"] == right and body["consensus"] == body["result"]
            assert body["provider"] == "fanout" and body["model"] == "consensus:majority"
            agreement = {p: a["agreement"] for p, a in by_provider(body).items()}
            wrong = "azure" if language == "en" else "google"
            assert agreement == {p: 0.0 if p == wrong else 1.0 for p in THREE}, (text, agreement)
            assert body["agreement"] == pytest.approx(2 / 3, abs=1e-4)
            assert by_provider(body)[wrong]["result"]["label"] != right
            assert [a["outcome"] for a in body["answers"]] == ["ok"] * 3
            assert body["usage"]["cost_usd"] == pytest.approx(cost_of(text, THREE))
    # the quality samples: one per provider per request, under the request's language
    scores = {(s.language, s.provider): [] for batch in recorder.batches for s in batch}  # type: ignore[var-annotated]
    for batch in recorder.batches:
        assert len(batch) == 3 and {s.source for s in batch} == {"agreement"}
        for s in batch:
            assert s.task == "text.sentiment"
            scores[(s.language, s.provider)].append(s.score)
    assert scores == {("en", "aws"): [1.0, 1.0], ("en", "google"): [1.0, 1.0], ("en", "azure"): [0.0, 0.0],
                      ("es", "aws"): [1.0, 1.0], ("es", "google"): [0.0, 0.0], ("es", "azure"): [1.0, 1.0]}  # fmt: skip


def test_a_failing_provider_leaves_two_answers_and_its_error(tmp_path: Path) -> None:
    sink = MemorySink()
    with gateway(tmp_path, sink) as client:
        flaky = client.app.state.runtime.providers["flaky"]
        flaky.script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))  # both tries (retries: 2)
        r = sentiment(client, "I love this phone", ["aws", "flaky", "google"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert [a["provider"] for a in body["answers"]] == ["aws", "flaky", "google"]
        failed = by_provider(body)["flaky"]
        assert failed["outcome"] == "error" and failed["result"] is None and failed["usage"] is None
        assert failed["agreement"] is None and failed["model"] == "scripted-1"
        assert failed["error"]["status"] == 502 and failed["error"]["title"] == "The provider is unavailable"
        assert failed["error"]["type"] == "/problems/upstream-unavailable"
        assert body["result"]["label"] == "positive" and body["agreement"] == 1.0
        assert body["usage"]["cost_usd"] == pytest.approx(cost_of("I love this phone", ["aws", "google"]))
        assert [(a["provider"], a["outcome"]) for a in body["attempts"]].count(("flaky", "error")) == 2


def test_every_provider_failing_is_the_usual_problem_with_every_attempt(tmp_path: Path) -> None:
    sink = MemorySink()
    with gateway(tmp_path, sink) as client:
        runtime = client.app.state.runtime
        runtime.providers["flaky"].script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
        runtime.providers["stuck"].script(Hang(), Hang())
        r = sentiment(client, "I love this phone", ["flaky", "stuck"])
        assert r.status_code == 502, r.text
        problem = r.json()
        assert "every provider of the fan-out failed" in problem["detail"] and "stuck" in problem["detail"]
        assert sorted((a["provider"], a["outcome"]) for a in problem["attempts"]) == [
            ("flaky", "error"), ("flaky", "error"), ("stuck", "timeout"), ("stuck", "timeout")]  # fmt: skip
        runtime.providers["flaky"].script(Hang(), Hang())
        runtime.providers["stuck"].script(Hang(), Hang())
        r = sentiment(client, "I love this phone", ["flaky", "stuck"])
        assert r.status_code == 504 and len(r.json()["attempts"]) == 4, r.text  # each tried twice


def test_every_call_is_charged_and_the_budget_covers_the_sum_up_front(tmp_path: Path) -> None:
    sink = MemorySink()
    with gateway(tmp_path, sink) as client:
        budgets = client.app.state.runtime.dispatcher.state.budgets
        text = "odio este teléfono"
        assert sentiment(client, text, THREE).status_code == 200
        spent = asyncio.run(budgets.spent("team"))["day"]
        assert spent == pytest.approx(cost_of(text, THREE))
        # 0.004 USD a day: one provider (18 chars x 0.0001) fits, the three together (0.0108) do not
        assert sentiment(client, text, None, **auth("poor")).status_code == 200
        r = sentiment(client, text, THREE, **auth("poor"))
        assert r.status_code == 429 and "the fan-out costs $0.010800" in r.json()["detail"], r.text
        assert r.json().get("attempts", []) == []  # refused before any call
        capped = {"text": text, "providers": THREE, "routing": {"max_cost_usd": 0.005}}
        r = client.post("/v1/text/sentiment", json=capped, headers=auth("team"))
        assert r.status_code == 422 and r.json()["field"] == "routing.max_cost_usd"


def test_the_one_log_record_has_every_attempt_and_the_total_cost(tmp_path: Path) -> None:
    sink = MemorySink()
    with gateway(tmp_path, sink) as client:
        text = "me encanta este teléfono"
        rid = sentiment(client, text, THREE).json()["request_id"]
        wait_for(lambda: any(r.request_id == rid for r in sink.records))
    (record,) = [r for r in sink.records if r.request_id == rid]
    assert record.provider == "fanout" and record.strategy == "fanout" and record.model == "consensus:majority"
    assert sorted(a.provider for a in record.attempts) == sorted(THREE)
    assert record.cost_usd == pytest.approx(cost_of(text, THREE)) and record.units == 3 * len(text)
    assert record.output is not None and record.output.top == "positive"
    assert record.decisions[0].startswith("fan-out to aws, google, azure")


def test_the_tiebreak_is_called_only_when_the_two_disagree(tmp_path: Path) -> None:
    routes = {"text.sentiment": {"fanout": {"providers": ["aws", "google"], "tiebreak": "azure", "agree_at": 0.8}}}
    sink = MemorySink()
    with gateway(tmp_path, sink, routes) as client:
        agree = sentiment(client, "I love this phone").json()  # English: aws and google agree
        assert [a["provider"] for a in agree["answers"]] == ["aws", "google"]
        assert agree["usage"]["cost_usd"] == pytest.approx(cost_of("I love this phone", ["aws", "google"]))
        split = sentiment(client, "me encanta este teléfono").json()  # Spanish: google is wrong
        assert [a["provider"] for a in split["answers"]] == ["aws", "google", "azure"]
        assert split["result"]["label"] == "positive" and split["agreement"] == pytest.approx(2 / 3, abs=1e-4)
        pinned = client.post("/v1/text/sentiment", json={"text": "odio este teléfono"},
                             headers={**auth("team"), "X-Omnisense-Provider": "google"}).json()  # fmt: skip
        assert pinned["provider"] == "google" and "answers" not in pinned  # a pin is one provider
        own = sentiment(client, "odio este teléfono", ["aws", "azure"]).json()  # the request's list wins
        assert [a["provider"] for a in own["answers"]] == ["aws", "azure"]
    decisions = {r.request_id: r.decisions for r in sink.records}
    assert any("azure: tiebreak not called: aws, google agree" in d for d in decisions[agree["request_id"]])
    assert any("azure: tiebreak called: aws and google disagree" in d for d in decisions[split["request_id"]])


def test_a_failure_calls_the_tiebreak(tmp_path: Path) -> None:
    routes = {"text.sentiment": {"fanout": {"providers": ["aws", "flaky"], "tiebreak": "google"}}}
    with gateway(tmp_path, MemorySink(), routes) as client:
        client.app.state.runtime.providers["flaky"].script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
        body = sentiment(client, "I love this phone").json()
        assert [(a["provider"], a["outcome"]) for a in body["answers"]] == [
            ("aws", "ok"), ("flaky", "error"), ("google", "ok")]  # fmt: skip


def test_raw_text_with_providers_in_the_query(tmp_path: Path) -> None:
    with gateway(tmp_path, MemorySink()) as client:
        r = client.post("/v1/text/sentiment?providers=aws,google,azure&language=es", content="odio este teléfono",
                        headers={**auth("team"), "Content-Type": "text/plain"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert [a["provider"] for a in r.json()["answers"]] == THREE and r.json()["result"]["label"] == "negative"


@pytest.mark.parametrize(
    ("providers", "key", "status", "words"),
    [
        (["aws"], "team", 422, "length >= 2"),
        (["aws", "aws"], "team", 422, "'aws' is named twice"),
        (["aws", "gpc"], "team", 422, "unknown provider 'gpc'"),
        (["aws", "flaky"], "team", 422, "'flaky' cannot serve this request: does not support language 'es'"),
        (["aws", "azure"], "narrow", 403, "may not use provider 'azure'"),
    ],
)
def test_a_list_that_cannot_be_served_is_a_problem_naming_providers(
    tmp_path: Path, providers: list[str], key: str, status: int, words: str
) -> None:
    with gateway(tmp_path, MemorySink()) as client:
        r = sentiment(client, "odio este teléfono", providers, **auth(key))
        assert r.status_code == status, r.text
        assert r.json()["field"].startswith("providers") and words in r.json()["detail"]


def test_synthesis_and_a_pin_with_providers_are_422(tmp_path: Path) -> None:
    with gateway(tmp_path, MemorySink()) as client:
        r = client.post("/v1/speech/synthesize", json={"text": "Hello", "providers": ["voice", "aws"]},
                        headers=auth("team"))  # fmt: skip
        assert r.status_code == 422 and r.json()["field"] == "providers"
        assert "speech.synthesize has no consensus" in r.json()["detail"]
        r = client.post("/v1/text/sentiment", json={"text": "I love this phone", "providers": THREE},
                        headers={**auth("team"), "X-Omnisense-Provider": "aws"})  # fmt: skip
        assert r.status_code == 422 and r.json()["field"] == "providers"


def test_routing_passes_the_quality_recorder_to_the_runner(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(policy({"*": {"candidates": ["aws"]}}))
    recorder = Recorder()

    async def go() -> None:
        routing, _ = await build_routing(str(path), {}, RoutingDeps(recorder=recorder))
        dispatcher: Dispatcher = routing.main.dispatcher
        try:
            request = TextRequest(text="I hate this phone", language="en", providers=THREE)
            trace = RequestTrace("r1", "text.sentiment")
            envelope = await dispatcher.run(Task.TEXT_SENTIMENT, request, trace)
            assert envelope.agreement == pytest.approx(2 / 3, abs=1e-4)
            # a reload keeps the recorder
            successor = dispatcher.successor(dispatcher.planner, dispatcher.providers)
            assert successor.fanout.quality is recorder
        finally:
            await close_routing(routing)

    asyncio.run(go())
    assert [(s.provider, s.score) for s in recorder.batches[0]] == [("aws", 1.0), ("google", 1.0), ("azure", 0.0)]


def test_one_answer_alone_is_no_evidence(tmp_path: Path) -> None:
    with gateway(tmp_path, MemorySink()) as client:
        recorder = Recorder()
        client.app.state.runtime.dispatcher.fanout.quality = recorder
        client.app.state.runtime.providers["flaky"].script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
        body = sentiment(client, "I love this phone", ["aws", "flaky"]).json()
        assert body.get("agreement") is None and by_provider(body)["aws"]["agreement"] is None  # absent: null
        assert recorder.batches == []

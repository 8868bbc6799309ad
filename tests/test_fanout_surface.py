"""Fan-out as a caller and an operator meet it: the policy block and its check, explain, the
Python clients (typed answers), the task CLI, multipart and raw uploads, the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from contract_tests.samples import png
from gateway.cli import main
from gateway.logs import MemorySink
from gateway.server.openapi import openapi_document
from omnisense import AsyncClient, Client
from omnisense.schema import Answer, SentimentResult
from policies.check import check_file
from tests.conftest import LiveServer
from tests.fanout_helpers import auth, config, gateway, policy

TIEBREAK = {"text.sentiment": {"fanout": {"providers": ["aws", "google"], "tiebreak": "azure", "agree_at": 0.8}}}


def problems(tmp_path: Path, routes: dict[str, Any]) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(policy(routes))
    return check_file(str(path))


@pytest.mark.parametrize(
    ("fanout", "problem"),
    [
        ({"providers": ["aws", "gpc"]}, 'routes."text.sentiment".fanout.providers[1]: unknown provider \'gpc\''),
        ({"providers": ["aws"]}, 'routes."text.sentiment".fanout.providers: needs 2 to 8 providers, has 1'),
        ({"providers": ["aws", "aws"]}, 'routes."text.sentiment".fanout.providers[1]: \'aws\' is named twice'),
        ({"providers": ["aws", "google"], "tiebreak": "aws"},
         'routes."text.sentiment".fanout.tiebreak: \'aws\' is already one of the providers'),
        ({"providers": ["aws", "google"], "tiebreak": "nope"},
         'routes."text.sentiment".fanout.tiebreak: unknown provider \'nope\''),
        ({"providers": ["aws", "google"], "agree_at": 0.8},
         'routes."text.sentiment".fanout.agree_at: only with a tiebreak (it decides when the tiebreak is called)'),
        ({"providers": ["aws", "google"], "tiebreak": "azure", "agree_at": 1.5},
         'routes."text.sentiment".fanout.agree_at: must be in [0, 1], is 1.5'),
    ],
)  # fmt: skip
def test_the_policy_check_names_each_problem_of_a_fanout_block(
    tmp_path: Path, fanout: dict[str, Any], problem: str
) -> None:
    assert problems(tmp_path, {"text.sentiment": {"fanout": fanout}}) == [problem]


def test_a_fanout_route_over_synthesis_is_refused_and_a_good_one_passes(tmp_path: Path, capsys: Any) -> None:
    found = problems(tmp_path, {"speech.*": {"fanout": {"providers": ["aws", "google"]}}})
    assert found == ['routes."speech.*".fanout: speech.synthesize has no consensus (its answers cannot be merged);'
                     " give it a route of its own"]  # fmt: skip
    assert problems(tmp_path, {"speech.*": {"fanout": {"providers": ["aws", "google"]}},
                               "speech.synthesize": {"candidates": ["voice"]}}) == []  # fmt: skip
    assert problems(tmp_path, {"text.sentiment": {"candidates": []}}) == [
        'routes."text.sentiment".candidates: is empty'
    ]
    path = tmp_path / "good.yaml"
    path.write_text(policy(TIEBREAK))
    assert main(["policy", "check", str(path)]) == 0
    path.write_text(policy({"text.sentiment": {"fanout": {"providers": ["aws", "gpc"]}}}))
    assert main(["policy", "check", str(path)]) == 1
    assert "fanout.providers[1]: unknown provider 'gpc'" in capsys.readouterr().out


def test_explain_shows_the_fanout_plan(tmp_path: Path) -> None:
    with gateway(tmp_path, MemorySink(), TIEBREAK) as client:
        body = {"task": "text.sentiment", "text": "hola", "language": "es"}
        plan = client.post("/v1/route/explain", json=body, headers=auth("team")).json()
        fanout = plan["fanout"]
        assert fanout["providers"] == ["aws", "google"] and fanout["tiebreak"]["provider"] == "azure"
        assert fanout["agree_at"] == 0.8 and fanout["source"] == "route"
        assert plan["answer"] == "fan-out to aws, google; azure only when two of them score under 0.8, or one fails"
        assert fanout["estimated_cost_usd"] == pytest.approx(4 * (0.0001 + 0.0002 + 0.0003))
        own = client.post("/v1/route/explain", json={**body, "providers": ["aws", "azure", "google"]},
                          headers=auth("team")).json()  # fmt: skip
        assert own["fanout"]["providers"] == ["aws", "azure", "google"] and own["fanout"]["tiebreak"] is None
        narrow = client.post("/v1/route/explain", json=body, headers=auth("narrow")).json()
        assert narrow["fanout"]["tiebreak"] is None  # the key may not use azure: left out, with why
        assert narrow["fanout"]["decisions"] == ["azure: left out of the fan-out: the key may not use it"]
        refused = client.post("/v1/route/explain", json={**body, "providers": ["aws", "gpc"]},
                              headers=auth("team")).json()  # fmt: skip
        assert refused["answer"].startswith("refused: 422 providers: unknown provider 'gpc'")


def test_images_fan_out_from_multipart_and_raw_bodies(tmp_path: Path) -> None:
    image = png(32, 32)
    with gateway(tmp_path, MemorySink()) as client:
        r = client.post("/v1/vision/labels", files={"image": ("x.png", image, "image/png")},
                        data={"providers": "eye1,eye2"}, headers=auth("team"))  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["result"]["labels"] == [{"name": "cat", "confidence": 0.8}]  # the vote: dog had one of two
        assert [a["agreement"] for a in body["answers"]] == [1.0, 1.0]  # labels agree by their top label
        r = client.post("/v1/vision/labels?providers=eye2,eye1", content=image,
                        headers={**auth("team"), "Content-Type": "image/png"})  # fmt: skip
        assert [a["provider"] for a in r.json()["answers"]] == ["eye2", "eye1"]


def test_both_clients_decode_the_answers_typed_and_the_cli_prints_them(tmp_path: Path, capsys: Any) -> None:
    with LiveServer(config(tmp_path, open_gateway=True), MemorySink()) as live:
        with Client(live.url) as omni:
            envelope = omni.text.sentiment(
                "me encanta este teléfono", language="es", providers=["aws", "google", "azure"]
            )
            plain = omni.text.sentiment("me encanta este teléfono", language="es")

        async def run_async() -> Any:
            async with AsyncClient(live.url) as omni:
                return await omni.text.sentiment("I hate this phone", providers="aws,google,azure")

        async_envelope = asyncio.run(run_async())
        code = main(["sentiment", "odio este teléfono", "--language", "es", "--providers", "aws,google,azure",
                     "--url", live.url])  # fmt: skip
        out = capsys.readouterr().out
    assert isinstance(envelope.consensus, SentimentResult) and envelope.consensus.label == "positive"
    assert envelope.answers is not None and all(isinstance(a, Answer) for a in envelope.answers)
    assert [a.agreement for a in envelope.answers] == [1.0, 0.0, 1.0]
    assert isinstance(envelope.answers[1].result, SentimentResult) and envelope.answers[1].result.label == "negative"
    assert plain.answers is None and plain.consensus is None and plain.agreement is None
    assert async_envelope.result.label == "negative" and async_envelope.agreement == pytest.approx(2 / 3, abs=1e-4)
    assert code == 0 and "text.sentiment by fanout (consensus:majority)" in out
    rows = {w[0]: w for w in (line.split() for line in out.splitlines()) if w[:1] in (["aws"], ["google"], ["azure"])}
    assert rows["google"][3] == "positive" and rows["google"][4] == "0.000" and rows["aws"][4] == "1.000"
    assert "consensus: negative  agreement: 0.667" in out


def test_the_openapi_document_describes_providers_and_the_new_envelope_fields() -> None:
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    providers = schemas["TextBody"]["properties"]["providers"]["anyOf"][0]
    assert providers["minItems"] == 2 and "fan-out" in providers["description"]
    query = [p for p in doc["paths"]["/v1/vision/labels"]["post"]["parameters"] if p["name"] == "providers"]
    assert query and query[0]["schema"]["type"] == "string" and "comma-separated" in query[0]["schema"]["description"]
    envelope = schemas["Envelope_SentimentResult_"]
    assert {"consensus", "agreement", "answers"} <= envelope["properties"].keys()
    assert not {"consensus", "agreement", "answers"} & set(envelope["required"])  # optional: absent for one provider
    answer = schemas["Answer_SentimentResult_"]
    assert set(answer["required"]) == {"provider", "model", "outcome", "result", "usage", "latency_ms", "agreement",
                                       "error"}  # fmt: skip
    assert json.dumps(schemas["AnswerError"]["required"]) == '["type", "title", "status", "detail"]'


def test_a_job_fans_out_too(policy_file: Path) -> None:
    from litestar.testing import TestClient

    from gateway.server import create_app
    from tests.jobs_helpers import job_config, wait_until

    with TestClient(create_app(job_config(policy_file), sink=MemorySink())) as client:
        body = {"task": "text.sentiment", "input": {"text": "What a lovely day", "providers": ["primary", "secondary"]}}
        job = client.post("/v1/jobs", json=body).json()

        def done() -> dict[str, Any] | None:
            found: dict[str, Any] = client.get(f"/v1/jobs/{job['id']}").json()
            return found if found["status"] == "succeeded" else None

        result = wait_until(done)["result"]
    assert result["provider"] == "fanout" and [a["provider"] for a in result["answers"]] == ["primary", "secondary"]
    assert result["agreement"] == 1.0 and result["consensus"]["label"] == "positive"

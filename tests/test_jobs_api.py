"""The jobs API in process: submit, poll, results, batches, fallback, cancel, own jobs only, bad input."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests.scripted_provider import Fail, Hang, ScriptedProvider
from gateway.logs import MemorySink
from gateway.server import create_app
from gateway.server.config import ApiKey, hash_key
from omnisense.schema import UpstreamUnavailable
from tests.jobs_helpers import job_config, wait_until, wav

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def jobs(policy_file: Path, sink: MemorySink) -> Iterator[Client]:
    with TestClient(create_app(job_config(policy_file), sink=sink)) as c:
        yield c


def provider(client: Client, name: str) -> ScriptedProvider:
    found: Any = client.app.state.runtime.providers[name]
    assert isinstance(found, ScriptedProvider)
    return found


def finished(client: Client, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_until(probe)


def test_a_text_job_answers_202_then_its_envelope(jobs: Client, sink: MemorySink) -> None:
    r = jobs.post("/v1/jobs", json={"task": "text.sentiment", "input": {"text": "What a lovely day"}})
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued" and job["items"] == 1
    done = finished(jobs, job["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 1 and done["done"] == 1
    assert done["result"]["task"] == "text.sentiment" and done["result"]["provider"] == "primary"
    assert done["result"]["result"]["label"] == "positive"
    record = wait_until(lambda: [r for r in sink.records if r.request_id == f"{job['id']}.0"])
    assert len(record) == 1 and record[0].status == "ok" and record[0].provider == "primary"


def test_a_failed_first_provider_falls_back(jobs: Client) -> None:
    primary = provider(jobs, "primary")
    primary.script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
    job = jobs.post("/v1/jobs", json={"task": "text.language", "input": {"text": "Bonjour"}}).json()
    done = finished(jobs, job["id"])
    assert done["status"] == "succeeded"
    assert done["result"]["provider"] == "secondary"
    outcomes = [(a["provider"], a["outcome"]) for a in done["result"]["attempts"]]
    assert outcomes == [("primary", "error"), ("primary", "error"), ("secondary", "ok")]


def test_a_job_whose_every_provider_fails_is_failed_with_the_problem(jobs: Client) -> None:
    for name in ("primary", "secondary"):
        provider(jobs, name).script(*[Fail(UpstreamUnavailable)] * 2)
    job = jobs.post("/v1/jobs", json={"task": "text.language", "input": {"text": "Hallo"}}).json()
    done = finished(jobs, job["id"])
    assert done["status"] == "failed" and "result" not in done
    assert done["error"]["status"] == 502 and len(done["error"]["attempts"]) == 4


def test_a_batch_is_one_job_with_a_result_per_input(jobs: Client, sink: MemorySink) -> None:
    texts = ["one fine day", "two fine days", "three fine days"]
    for name in ("primary", "secondary"):  # the first input fails everywhere, the others are answered
        provider(jobs, name).script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
    body = {"task": "text.key_phrases", "inputs": [{"text": t} for t in texts]}
    job = jobs.post("/v1/jobs", json=body).json()
    assert job["batch"] and job["items"] == 3
    done = finished(jobs, job["id"])
    assert done["status"] == "succeeded" and done["done"] == 3
    items = done["results"]
    assert [i["index"] for i in items] == [0, 1, 2]
    assert items[0]["status"] == "failed" and items[0]["error"]["status"] == 502
    assert [i["result"]["result"]["phrases"][0]["text"] for i in items[1:]] == ["two", "three"]
    ids = {f"{job['id']}.{i}" for i in range(3)}
    wait_until(lambda: ids <= {r.request_id for r in sink.records})


def test_cancel_stops_a_running_job(jobs: Client, sink: MemorySink) -> None:
    provider(jobs, "primary").script(Hang())
    job = jobs.post("/v1/jobs", json={"task": "text.sentiment", "input": {"text": "wait"}}).json()
    wait_until(lambda: jobs.get(f"/v1/jobs/{job['id']}").json()["status"] == "running")
    r = jobs.delete(f"/v1/jobs/{job['id']}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    record = wait_until(lambda: [r for r in sink.records if r.request_id == f"{job['id']}.0"])
    assert record[0].http_status == 499 and record[0].error_type == "JobStopped"
    assert jobs.get(f"/v1/jobs/{job['id']}").json()["status"] == "cancelled"
    again = jobs.delete(f"/v1/jobs/{job['id']}")
    assert again.status_code == 422 and "already cancelled" in again.json()["detail"]


def test_an_upload_job_takes_the_task_in_the_query(jobs: Client) -> None:
    audio = wav(2.0)
    r = jobs.post("/v1/jobs?task=speech.transcribe", content=audio, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 202
    done = finished(jobs, r.json()["id"])
    assert done["result"]["usage"] == {"units": 2.0, "unit": "second", "cost_usd": 0.004}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"task": "text.sentimnt", "input": {"text": "x"}}, 422, "task"),
        ({"task": "text.sentiment", "inputs": [{"text": "ok"}, {"text": " "}]}, 422, "inputs[1].text"),
        ({"task": "text.sentiment", "input": {"text": "x"}, "inputs": [{"text": "y"}]}, 422, "input"),
        ({"task": "text.sentiment", "input": {"text": "x"}, "webhook_url": "ftp://x"}, 422, "webhook_url"),
        ({"task": "vision.labels", "input": {"image": {"base64": "not base64!"}}}, 400, "input.image.base64"),
    ],
)
def test_bad_jobs_are_refused_now_naming_the_field(jobs: Client, body: dict[str, Any], status: int, field: str) -> None:
    r = jobs.post("/v1/jobs", json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


def test_long_audio_on_the_synchronous_endpoint_names_the_jobs_api(jobs: Client) -> None:
    r = jobs.post("/v1/speech/transcribe", content=wav(301.0), headers={"Content-Type": "audio/wav"})
    assert r.status_code == 413
    assert "POST /v1/jobs" in r.json()["detail"] and r.json()["field"] == "audio"
    ok = jobs.post("/v1/jobs?task=speech.transcribe", content=wav(301.0), headers={"Content-Type": "audio/wav"})
    assert ok.status_code == 202


def test_a_key_sees_only_its_own_jobs(policy_file: Path, sink: MemorySink) -> None:
    keys = [ApiKey(id="team-a", sha256=hash_key("key-a")), ApiKey(id="team-b", sha256=hash_key("key-b"))]
    a, b = {"Authorization": "Bearer key-a"}, {"Authorization": "Bearer key-b"}
    with TestClient(create_app(job_config(policy_file, keys=keys), sink=sink)) as c:
        mine = c.post("/v1/jobs", json={"task": "text.language", "input": {"text": "hi"}}, headers=a).json()
        finished(c, mine["id"], a)
        assert c.get(f"/v1/jobs/{mine['id']}", headers=b).status_code == 404
        assert c.delete(f"/v1/jobs/{mine['id']}", headers=b).status_code == 404
        assert [j["id"] for j in c.get("/v1/jobs", headers=a).json()["jobs"]] == [mine["id"]]
        assert c.get("/v1/jobs", headers=b).json()["jobs"] == []
        assert c.get("/v1/jobs?status=succeeded&since=1h", headers=a).json()["jobs"][0]["id"] == mine["id"]
        assert c.get("/v1/jobs?status=queued", headers=a).json()["jobs"] == []
        assert c.get("/v1/jobs?status=bogus", headers=a).status_code == 400
        for limit in ("", "²", "0", "1001"):  # an empty value or a non-ASCII digit is no integer either
            bad = c.get("/v1/jobs", params={"limit": limit}, headers=a)
            assert bad.status_code == 400 and bad.json()["field"] == "limit", limit
        assert len(c.get("/v1/jobs", params={"limit": "1"}, headers=a).json()["jobs"]) == 1
        assert c.post("/v1/jobs", json={"task": "text.language", "input": {"text": "hi"}}).status_code == 401


def test_json_media_inputs_work_in_batches(jobs: Client) -> None:
    audio = base64.b64encode(wav(1.0)).decode()
    body = {"task": "speech.transcribe", "inputs": [{"audio": {"base64": audio}}, {"audio": {"base64": audio}}]}
    done = finished(jobs, jobs.post("/v1/jobs", json=body).json()["id"])
    assert [i["status"] for i in done["results"]] == ["succeeded", "succeeded"]

"""Health, readiness, providers, OpenAPI, API keys, request ids."""

from __future__ import annotations

from litestar.testing import TestClient

from gateway.logs import MemorySink
from omnisense.schema import Task
from tests.test_dispatch import wait_for_records


def test_health_and_readiness(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["providers"] == {"primary": True, "secondary": True}


def test_providers_lists_capabilities_prices_and_health(client: TestClient) -> None:  # type: ignore[type-arg]
    body = client.get("/v1/providers").json()
    assert [p["name"] for p in body["providers"]] == ["primary", "secondary"]
    primary = body["providers"][0]
    assert set(primary["tasks"]) == {t.value for t in Task}
    assert primary["prices"]["vision.labels"]["usd"] == 0.002
    assert primary["health"]["ok"] is True


def test_openapi_documents_every_endpoint_with_inputs_and_errors(client: TestClient) -> None:  # type: ignore[type-arg]
    doc = client.get("/schema/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    for task in Task:
        op = doc["paths"][task.path]["post"]
        assert "application/json" in op["requestBody"]["content"]
        assert {"400", "413", "415", "422", "502", "503"} <= set(op["responses"])
        assert op["responses"]["400"]["content"]["application/problem+json"]
    labels = doc["paths"]["/v1/vision/labels"]["post"]["requestBody"]["content"]
    assert set(labels) == {"application/json", "multipart/form-data", "application/octet-stream"}
    synthesize = doc["paths"]["/v1/speech/synthesize"]["post"]
    assert {"application/json", "audio/wav"} <= set(synthesize["responses"]["200"]["content"])
    assert "Accept" in synthesize["description"]
    assert doc["components"]["schemas"]["MediaRef"]["oneOf"][0]["required"] == ["base64"]
    assert doc["components"]["schemas"]["TextBody"]["properties"]["text"]["minLength"] == 1
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert metrics == {"text/plain": {"schema": {"type": "string"}}}
    logs = doc["paths"]["/v1/logs"]["get"]
    assert {p["name"] for p in logs["parameters"]} >= {"task", "provider", "status", "since", "limit", "cursor"}
    for path in (
        "/healthz",
        "/readyz",
        "/v1/providers",
        "/v1/logs",
        "/v1/stats",
        "/metrics",
        "/v1/route/explain",
        "/v1/policy",
    ):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    assert "Problem" in schemas and "ImageBody" in schemas and "Envelope_LabelsResult_" in schemas


def test_protected_gateway(protected_client: TestClient, sink: MemorySink) -> None:  # type: ignore[type-arg]
    c = protected_client
    missing = c.post("/v1/text/sentiment", json={"text": "hi"})
    assert missing.status_code == 401 and missing.headers["content-type"].startswith("application/problem+json")
    wrong = c.post("/v1/text/sentiment", json={"text": "hi"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = c.post("/v1/text/sentiment", json={"text": "hi"}, headers={"Authorization": "Bearer secret-a"})
    assert ok.status_code == 200
    assert c.get("/v1/providers").status_code == 401
    assert c.get("/healthz").status_code == 200
    # A key may pin only the providers it is allowed to.
    ops = {"Authorization": "Bearer secret-admin"}
    assert (
        c.post(
            "/v1/text/sentiment", json={"text": "hi"}, headers={**ops, "X-Omnisense-Provider": "primary"}
        ).status_code
        == 200
    )
    denied = c.post("/v1/text/sentiment", json={"text": "hi"}, headers={**ops, "X-Omnisense-Provider": "secondary"})
    assert denied.status_code == 403
    wait_for_records(sink, 5)
    assert [r.key_id for r in sink.records] == [None, None, "team-a", "ops", "ops"]
    assert [r.http_status for r in sink.records] == [401, 401, 200, 200, 403]


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:  # type: ignore[type-arg]
    r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123" and r.json()["request_id"] == "abc-123"
    r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers={"X-Request-Id": "bad id\twith tab"})
    assert r.headers["x-request-id"] != "bad id\twith tab" and len(r.headers["x-request-id"]) == 32


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:  # type: ignore[type-arg]
    r = client.get("/v1/vision/labels")
    assert r.status_code == 405 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/v1/vision/colours", json={})
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"

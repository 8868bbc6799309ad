"""The dashboard's assets and its task catalogue, without a browser."""

from __future__ import annotations

import msgspec
from litestar.testing import TestClient

from omnisense.schema import TABLE, InputKind


def test_page_and_assets_are_served_from_the_package(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"  # one charset
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp  # nothing from outside the gateway
    assert 'src="/dashboard/app.js"' in page.text
    for name, kind in [("app.js", "text/javascript"), ("style.css", "text/css"), ("charts.js", "text/javascript")]:
        asset = client.get(f"/dashboard/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"] == f"{kind}; charset=utf-8"
        text = asset.text.replace("http://www.w3.org/2000/svg", "")  # the SVG namespace name, not a fetch
        assert "http://" not in text and "https://" not in text
    missing = client.get("/dashboard/secrets.yaml")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_the_page_is_open_but_its_data_needs_an_admin_key(protected_client: TestClient) -> None:  # type: ignore[type-arg]
    assert protected_client.get("/dashboard").status_code == 200
    assert protected_client.get("/dashboard/tasks.json").status_code == 200
    assert protected_client.get("/v1/stats").status_code == 401
    assert protected_client.get("/v1/stats", headers={"Authorization": "Bearer secret-a"}).status_code == 403
    assert protected_client.get("/v1/stats", headers={"Authorization": "Bearer secret-admin"}).status_code == 200


def test_the_try_it_catalogue_is_the_task_table(client: TestClient) -> None:  # type: ignore[type-arg]
    tasks = client.get("/dashboard/tasks.json").json()["tasks"]
    assert [t["task"] for t in tasks] == [t.value for t in TABLE]
    for entry in tasks:
        spec = TABLE[next(t for t in TABLE if t.value == entry["task"])]
        assert entry["path"] == spec.path and entry["input"] == spec.input.value
        body_fields = {f.name for f in msgspec.structs.fields(spec.body)} - {"include_raw", "routing"}
        assert {f["name"] for f in entry["fields"]} == body_fields
        media = [f for f in entry["fields"] if f["kind"] == "media"]
        assert [f["name"] for f in media] == ([] if spec.input is InputKind.TEXT else [spec.media_field])
    translate = next(t for t in tasks if t["task"] == "text.translate")
    fields = {f["name"]: f for f in translate["fields"]}
    assert fields["target_language"].items() >= {"kind": "str", "required": True, "default": None}.items()
    labels = {f["name"]: f for f in next(t for t in tasks if t["task"] == "vision.labels")["fields"]}
    assert labels["max_results"].items() >= {"kind": "int", "default": 20, "min": 1}.items()  # the schema's constraint
    assert labels["min_confidence"].items() >= {"kind": "float", "min": 0.0, "max": 1.0}.items()
    assert labels["document"]["kind"] == "bool"

"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright.

A live gateway (uvicorn in a thread) on scripted providers serves the page; the tests check
that the numbers shown are ``/v1/stats``'s and ``/v1/providers``'s, that the page updates
itself, that the log filters and the record detail work, that the try-it form runs tasks
(text and an uploaded image) with route explain beside it, and that a protected gateway
asks for an admin key. Screenshots go to ``test-artifacts/`` (``OMNISENSE_TEST_ARTIFACTS``).
One browser serves all of them.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from contract_tests.scripted_provider import Fail
from gateway.logs import MemorySink, RequestLog
from gateway.server.config import ApiKey, hash_key
from omnisense.schema import TABLE, OutputSummary, UpstreamUnavailable
from tests.conftest import LiveServer, make_config

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = os.environ.get("OMNISENSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no chromium at {CHROMIUM} (scripts/setup.sh installs Debian's)", allow_module_level=True)

expect = playwright_api.expect
expect.set_options(timeout=20_000)  # generous: a loaded CI machine renders slowly
ARTIFACTS = Path(os.environ.get("OMNISENSE_TEST_ARTIFACTS") or Path(__file__).parent.parent / "test-artifacts")
ADMIN, USER = "dash-admin-secret", "dash-user-secret"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser for all the module's tests; closed with the module, because Playwright's sync API
    marks its event loop as running in this thread while it lives, and asyncio.run() then refuses."""
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    network = "Failed to load resource"  # answers the tests provoke (401, 403, 422) are not page errors
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" and network not in m.text else None)
    try:
        yield tab
        assert not errors, f"the page reported errors: {errors}"
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"dashboard-{request.node.name}.png"), full_page=True)
        context.close()


@pytest.fixture
def gateway(policy_file: Path) -> Iterator[LiveServer]:
    with LiveServer(make_config(policy_file), MemorySink()) as server:
        yield server


def send_traffic(url: str, server: LiveServer, headers: dict[str, str] | None = None) -> int:
    """Answers from both providers, a fallback, bad input: returns how many requests were sent."""
    primary = server.app.state.runtime.providers["primary"]
    with httpx.Client(base_url=url, headers=headers or {}, timeout=10) as http:
        for text in ("What a lovely day", "Nice", "Good morning to you"):
            assert http.post("/v1/text/sentiment", json={"text": text}).status_code == 200
        assert http.post("/v1/text/translate", json={"text": "Hello", "target_language": "es"}).status_code == 200
        primary.script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))  # both tries fail: secondary serves
        assert http.post("/v1/text/entities", json={"text": "Ada in London"}).status_code == 200
        assert http.post("/v1/text/sentiment", json={"text": ""}).status_code == 422
    return 6


def wait_logged(url: str, count: int, headers: dict[str, str] | None = None) -> None:
    """The log writer is off the request path: wait until every record is queryable."""
    deadline = time.monotonic() + 10
    while len(httpx.get(f"{url}/v1/logs", headers=headers or {}).json()["records"]) < count:
        assert time.monotonic() < deadline, "records did not reach the log"
        time.sleep(0.05)


def refreshed(page: Any, after: int) -> None:
    done = "after => Number(document.body.dataset.refreshed || 0) > after"
    page.wait_for_function(done, arg=after, timeout=15_000)


def refresh_count(page: Any) -> int:
    return int(page.evaluate("Number(document.body.dataset.refreshed || 0)"))


def table_rows(page: Any, selector: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = page.eval_on_selector_all(
        f"{selector} tbody tr:not(.empty)",
        "rows => rows.map(tr => Object.fromEntries([...tr.cells].map(td => [td.dataset.col, td.textContent])))",
    )
    return rows


def close(shown: str, value: float, places: int) -> bool:
    return abs(float(shown) - value) <= 10**-places


def test_numbers_shown_are_the_gateways_own(gateway: LiveServer, page: Any) -> None:
    wait_logged(gateway.url, send_traffic(gateway.url, gateway))
    page.goto(f"{gateway.url}/dashboard")
    refreshed(page, 0)
    stats = httpx.get(f"{gateway.url}/v1/stats", params={"window": "1h"}).json()["rows"]
    shown = {(r["provider"], r["task"]): r for r in table_rows(page, "#stats-table")}
    assert set(shown) == {(r["provider"], r["task"]) for r in stats}
    for row in stats:
        cells = shown[(row["provider"], row["task"])]
        assert int(cells["requests"]) == row["requests"]
        assert close(cells["error_rate"], 100 * row["error_rate"], 1)
        assert close(cells["p50_ms"], row["p50_ms"], 1) and close(cells["p95_ms"], row["p95_ms"], 1)
        assert close(cells["cost_usd"], row["cost_usd"], 6)
    assert shown[("-", "text.sentiment")]["error_rate"] == "100.0"  # the 422: no provider served it

    providers = httpx.get(f"{gateway.url}/v1/providers").json()["providers"]
    health = {r["provider"]: r["health"] for r in table_rows(page, "#providers-table")}
    assert health == {p["name"]: "ok" if p["health"]["ok"] else "DOWN" for p in providers}
    circuits = {r["provider"]: r["circuit"] for r in table_rows(page, "#providers-table")}
    assert circuits == {"primary": "closed", "secondary": "closed"}

    expect(page.locator("#traffic-note")).to_contain_text("6 requests in the window")
    assert page.locator("#chart-rps svg path[data-series='primary']").count() == 1
    assert page.locator("#chart-rps svg path[data-series='secondary']").count() == 1
    cost = {r["provider"]: r for r in table_rows(page, "#cost-table")}
    today = sum(r["cost_usd"] for r in stats if r["provider"] == "primary")
    assert close(cost["primary"]["0-1d ago"], today, 4)
    expect(page.locator("#policy-facts [data-fact=name]")).to_have_text("policy")
    expect(page.locator("#routes-table")).to_contain_text("primary > secondary")


def test_the_page_updates_itself(gateway: LiveServer, page: Any) -> None:
    page.goto(f"{gateway.url}/dashboard")
    refreshed(page, 0)
    page.select_option("#interval", "2")
    with httpx.Client(base_url=gateway.url) as http:
        for _ in range(3):
            assert http.post("/v1/text/language", json={"text": "Bonjour tout le monde"}).status_code == 200
    row = page.locator("#stats-table tbody tr", has_text="text.language")
    expect(row.locator("[data-col=requests]")).to_have_text("3", timeout=15_000)
    expect(page.locator("#logs-table tbody tr", has_text="text.language")).to_have_count(3)


def test_log_filters_and_record_detail(gateway: LiveServer, page: Any) -> None:
    wait_logged(gateway.url, send_traffic(gateway.url, gateway))
    page.goto(f"{gateway.url}/dashboard")
    refreshed(page, 0)
    logs = page.locator("#logs-table tbody tr:not(.empty)")
    expect(logs).to_have_count(6)

    page.select_option("#log-filters [name=status]", "error")
    expect(logs).to_have_count(1)
    assert table_rows(page, "#logs-table")[0]["http_status"] == "422"

    page.select_option("#log-filters [name=status]", "")
    page.select_option("#log-filters [name=provider]", "secondary")
    expect(logs).to_have_count(1)
    page.select_option("#log-filters [name=task]", "text.sentiment")
    expect(logs).to_have_count(0)
    page.select_option("#log-filters [name=task]", "text.entities")
    expect(logs).to_have_count(1)

    logs.first.click()
    detail = page.locator("#log-detail")
    expect(detail).to_be_visible()
    attempts = table_rows(page, "#attempts-table")
    assert [(a["provider"], a["outcome"]) for a in attempts] == [
        ("primary", "error"),
        ("primary", "error"),
        ("secondary", "ok"),
    ]
    record = httpx.get(f"{gateway.url}/v1/logs", params={"provider": "secondary"}).json()["records"][0]
    expect(detail.locator("[data-fact='overhead ms']")).to_have_text(f"{record['overhead_ms']:.1f}")
    expect(detail).to_contain_text(record["request_id"])


def test_try_it_runs_every_kind_of_task(gateway: LiveServer, page: Any, tmp_path: Path) -> None:
    page.goto(f"{gateway.url}/dashboard")
    refreshed(page, 0)
    options = page.eval_on_selector_all("#try-task option", "os => os.map(o => o.value)")
    assert options == [t.value for t in TABLE]  # every task of the table, in its order

    page.select_option("#try-task", "text.translate")
    page.fill("#try-fields [name=text]", "Good morning")
    page.fill("#try-fields [name=target_language]", "es")
    expect(page.locator("#explain-answer")).to_have_text("served by primary")
    page.click("#try-run")
    expect(page.locator("#try-summary")).to_contain_text("text.translate: served by primary")
    envelope = page.locator("#try-envelope").text_content()
    assert '"target_language": "es"' in envelope

    photo = tmp_path / "photo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, format="PNG")
    photo.write_bytes(buffer.getvalue())
    page.select_option("#try-task", "vision.labels")
    page.set_input_files("#try-fields [name=image]", str(photo))
    page.select_option("#try-provider", "secondary")
    expect(page.locator("#explain-answer")).to_have_text("served by secondary")
    page.click("#try-run")
    expect(page.locator("#try-summary")).to_contain_text("vision.labels: served by secondary")
    assert '"width": 64' in page.locator("#try-envelope").text_content()

    page.select_option("#try-provider", "")
    page.select_option("#try-task", "speech.synthesize")
    page.fill("#try-fields [name=text]", "Hello")
    page.click("#try-run")
    expect(page.locator("#try-output audio")).to_have_count(1)

    page.select_option("#try-task", "text.sentiment")
    page.fill("#try-fields [name=text]", "   ")
    page.click("#try-run")
    expect(page.locator("#try-problem")).to_contain_text("422")


def test_a_protected_gateway_asks_for_an_admin_key(policy_file: Path, page: Any) -> None:
    keys = [ApiKey(id="ops", sha256=hash_key(ADMIN), admin=True), ApiKey(id="app", sha256=hash_key(USER))]
    with LiveServer(make_config(policy_file, keys=keys), MemorySink()) as server:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        wait_logged(server.url, send_traffic(server.url, server, auth), auth)
        page.goto(f"{server.url}/dashboard")
        banner = page.locator("#auth-banner")
        expect(banner).to_contain_text("401")
        page.fill("#key", USER)
        page.click("#key-form button")
        expect(banner).to_contain_text("403")
        page.fill("#key", ADMIN)
        page.click("#key-form button")
        expect(banner).to_be_hidden()
        expect(page.locator("#logs-table tbody tr")).to_have_count(6)
        keys_shown = {r["key"] for r in table_rows(page, "#logs-table")}
        assert keys_shown == {"ops"}  # the key's id, never the key
        assert ADMIN not in page.content()


def history(now: float) -> list[RequestLog]:
    """A week of records: an hour of traffic (the output shifts from positive to negative against
    the hour before), and one costly request per earlier day and provider."""
    records = []
    for i in range(240):  # 120 in the hour before, 120 in the last hour, 100 s clear of the windows' edges
        t = now - 7100 + (i % 120) * 28 + (3600 if i >= 120 else 0)
        provider = "primary" if i % 3 else "secondary"
        failed = i % 17 == 0
        label = "positive" if i < 120 or i % 5 == 0 else "negative"
        latency = 20.0 + (i % 10) * 7 + (40 if provider == "secondary" else 0)
        record = RequestLog(
            request_id=f"h{i:04d}", time=t, task="text.sentiment", status="error" if failed else "ok",
            http_status=502 if failed else 200, latency_ms=latency, provider=provider,
            cost_usd=0.0 if failed else 0.0005, key_id="team-a" if i % 2 else "team-b",
            output=None if failed else OutputSummary(top=label, confidence=0.9),
        )  # fmt: skip
        records.append(record)
    for day in range(1, 7):
        for provider, usd in (("primary", 0.01 * day), ("secondary", 0.002 * day)):
            t = now - day * 86400 - 3600
            records.append(RequestLog(request_id=f"d{day}{provider}", time=t, task="vision.labels", status="ok",
                                      http_status=200, latency_ms=50.0, provider=provider, cost_usd=usd))  # fmt: skip
    return records


def test_charts_cost_per_day_and_drift_from_a_weeks_history(policy_file: Path, page: Any) -> None:
    sink = MemorySink()
    with LiveServer(make_config(policy_file), sink) as server:
        sink.records.extend(history(time.time()))
        page.goto(f"{server.url}/dashboard")
        refreshed(page, 0)
        expect(page.locator("#traffic-note")).to_contain_text("120 requests in the window")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"))  # the README's (docs/dashboard.png)
        for chart in ("rps", "errors", "p50", "p95"):
            for provider in ("primary", "secondary"):
                assert page.locator(f"#chart-{chart} svg path[data-series='{provider}']").count() == 1

        cost = {r["provider"]: r for r in table_rows(page, "#cost-table")}
        for day in range(1, 7):
            assert close(cost["primary"][f"{day}-{day + 1}d ago"], 0.01 * day, 4)
            assert close(cost["secondary"][f"{day}-{day + 1}d ago"], 0.002 * day, 4)

        stats = httpx.get(f"{server.url}/v1/stats", params={"window": "1h"}).json()["rows"]
        drift = {r["provider"]: r["drift"] for r in table_rows(page, "#stats-table")}
        for row in stats:
            assert drift[row["provider"]] == f"{row['drift_psi']:.3f} SHIFT"  # positive -> mostly negative

        page.select_option("#group-by", "task")
        expect(page.locator("#chart-rps svg path[data-series='text.sentiment']")).to_have_count(1)
        page.fill("#log-filters [name=key]", "team-a")
        page.press("#log-filters [name=key]", "Enter")
        expect(page.locator("#logs-table tbody tr:not(.empty)").first).to_contain_text("team-a")
        # The first row can be an unfiltered row still on screen: wait until the filtered page replaced it.
        keys: set[str] = set()
        for _ in range(100):
            keys = {r["key"] for r in table_rows(page, "#logs-table")}
            if keys == {"team-a"}:
                break
            page.wait_for_timeout(200)
        assert keys == {"team-a"}
        page.locator("#logs-table tbody tr").first.click()
        expect(page.locator("#log-detail")).to_be_visible()


def test_policy_panel_shows_a_refused_reload(gateway: LiveServer, policy_file: Path, page: Any) -> None:
    page.goto(f"{gateway.url}/dashboard")
    refreshed(page, 0)
    expect(page.locator("#policy-facts [data-fact=refused]")).to_have_text("0")
    bad = policy_file.read_text().replace("candidates: [primary, secondary]", "candidates: [primary, gpc]")
    policy_file.write_text(bad)
    assert httpx.post(f"{gateway.url}/v1/policy/reload").status_code == 422
    page.select_option("#interval", "2")
    expect(page.locator("#policy-refusal")).to_contain_text("unknown provider 'gpc'", timeout=15_000)
    assert int(page.locator("#policy-facts [data-fact=refused]").text_content()) >= 1
    expect(page.locator("#routes-table")).to_contain_text("primary > secondary")  # the last good policy serves


def test_quality_panel_shows_the_table(gateway: LiveServer, page: Any) -> None:
    samples = [
        {"task": "text.sentiment", "language": "en", "provider": "primary", "source": "reference", "score": 1.0},
        {"task": "text.sentiment", "language": "en", "provider": "primary", "source": "reference", "score": 0.5},
        {"task": "text.sentiment", "language": "es", "provider": "secondary", "source": "agreement", "score": 0.25},
    ]
    assert httpx.post(f"{gateway.url}/v1/quality", json={"samples": samples}).json() == {"recorded": 3}
    page.goto(f"{gateway.url}/dashboard")
    refreshed(page, 0)
    rows = httpx.get(f"{gateway.url}/v1/quality").json()["rows"]
    shown = {(r["language"], r["provider"], r["source"]): r for r in table_rows(page, "#quality-table")}
    assert (
        set(shown)
        == {(r["language"], r["provider"], r["source"]) for r in rows}
        == {("en", "primary", "reference"), ("es", "secondary", "agreement")}
    )
    assert (shown[("en", "primary", "reference")]["samples"], shown[("en", "primary", "reference")]["score"]) == (
        "2",
        "0.750",
    )
    assert shown[("es", "secondary", "agreement")]["score"] == "0.250"
    expect(page.locator("#quality-window")).to_contain_text("last 7 d")


def test_budgets_panel_shows_when_each_budget_runs_out(policy_file: Path, page: Any) -> None:
    policy_file.write_text(
        policy_file.read_text() + "budgets:\n  - {key: app, usd_per_day: 1000000.0, usd_per_month: 20}\n"
    )
    keys = [ApiKey(id="ops", sha256=hash_key(ADMIN), admin=True), ApiKey(id="app", sha256=hash_key(USER))]
    with LiveServer(make_config(policy_file, keys=keys), MemorySink()) as server:
        user, admin = {"Authorization": f"Bearer {USER}"}, {"Authorization": f"Bearer {ADMIN}"}
        for text in ("What a lovely day", "Nice", "Good morning to you"):  # spend today: a rate to project
            assert httpx.post(f"{server.url}/v1/text/sentiment", json={"text": text}, headers=user).status_code == 200
        budgets = httpx.get(f"{server.url}/v1/stats", headers=admin).json()["budgets"]
        page.goto(f"{server.url}/dashboard")
        page.fill("#key", ADMIN)
        page.click("#key-form button")
        expect(page.locator("#budgets-table tbody tr")).to_have_count(2)
        shown = {r["window"]: r for r in table_rows(page, "#budgets-table")}
        assert set(shown) == {"day", "month"} and {r["key"] for r in shown.values()} == {"app"}
        day = next(w for w in budgets[0]["windows"] if w["window"] == "day")
        assert day["spent_usd"] > 0 and shown["day"]["spent"] == f"{day['spent_usd']:.6f}"
        assert shown["day"]["limit"] == "1000000.000000" and shown["month"]["limit"] == "20.000000"
        # a limit no rate reaches before the day resets, whatever the hour (rate: spend / seconds since 00:00 UTC)
        assert day["runs_out_in_s"] is None
        assert shown["day"]["runs_out"] == "not before reset" and shown["day"]["then"] == "reject"

"""Price quotes (issue #28): ``?dry_run=true`` calls nothing and prices what the real call then costs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from contract_tests import samples
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import ApiKey, LogSettings, hash_key

Client = TestClient  # type: ignore[type-arg]


def calls(client: Client) -> int:
    return sum(len(p.calls) for p in client.app.state.runtime.providers.values())


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/v1/speech/transcribe", {"content": samples.wav(3.0), "headers": {"Content-Type": "audio/wav"}}),
        ("/v1/text/sentiment", {"json": {"text": "A fine day for a quote"}}),
    ],
    ids=["audio-seconds", "text"],
)
def test_a_dry_run_calls_nothing_and_prices_the_real_call(client: Client, path: str, kwargs: dict[str, Any]) -> None:
    quoted = client.post(path, params={"dry_run": "true"}, **kwargs)
    assert quoted.status_code == 200, quoted.text
    body = quoted.json()
    assert body["dry_run"] is True and body["answer"] == "served by primary"
    assert [s["provider"] for s in body["plan"]] == ["primary", "secondary"]
    assert calls(client) == 0  # nothing was called
    real = client.post(path, **kwargs).json()
    assert real["usage"]["cost_usd"] == pytest.approx(body["price_usd"]) and body["price_usd"] > 0
    assert real["usage"]["units"] == pytest.approx(body["units"])
    if path.endswith("transcribe"):
        assert body["units"] == pytest.approx(3.0) and body["unit"] == "second"  # from the decoded audio
    assert body["reserve_usd"] == pytest.approx(max(s["cost_usd"] for s in body["plan"]))


def test_a_quote_shows_the_budget_left_and_a_refusal(policy_file: Path, sink: MemorySink, tmp_path: Path) -> None:
    text = policy_file.read_text() + "budgets:\n  - {key: thrifty, usd_per_day: 0.0001, then: reject}\n"
    policy = tmp_path / "budgeted.yaml"
    policy.write_text(text)
    keys = [ApiKey(id="thrifty", sha256=hash_key("key-thrifty")), ApiKey(id="ops", sha256=hash_key("ops"), admin=True)]
    config = GatewayConfig(policy=str(policy), logs=LogSettings(sink="none"), policy_watch_s=None)
    with TestClient(create_app(msgspec.structs.replace(config, keys=keys), sink=sink)) as c:
        auth = {"Authorization": "Bearer key-thrifty"}
        body = c.post("/v1/text/sentiment", params={"dry_run": "1"}, json={"text": "too dear"}, headers=auth).json()
        assert body["budget_left_usd"] == pytest.approx(0.0001)
        assert body["answer"].startswith("refused: 429") and body["price_usd"] is None
        assert calls(c) == 0
        (budget,) = c.get("/v1/stats", headers={"Authorization": "Bearer ops"}).json()[
            "budgets"
        ]  # /v1/stats forecasts every budget
        assert budget["key"] == "thrifty" and budget["windows"][0]["left_usd"] == pytest.approx(0.0001)
        assert budget["windows"][0]["runs_out_in_s"] is None  # nothing spent yet


def test_the_quote_command_prices_a_file_and_calls_nothing(
    live: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from gateway.cli import main

    audio = tmp_path / "meeting.wav"
    audio.write_bytes(samples.wav(2.0))
    assert main(["quote", "transcribe", str(audio), "--url", live.url]) == 0
    out = capsys.readouterr().out
    assert "served by primary" in out and "2 second(s)" in out and "$0.004000" in out, out
    assert main(["quote", "sentiment", "How much?", "--url", live.url, "--json"]) == 0
    assert '"dry_run": true' in capsys.readouterr().out
    assert sum(len(p.calls) for p in live.app.state.runtime.providers.values()) == 0

"""The omnisense command: policy check, and serve as a real process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.cli import main
from tests.conftest import POLICY, free_port

BAD_POLICY = """
version: 1
providers:
  aws: {kind: aws, region: eu-west-1}
routes:
  vision.*: {candidates: [aws, gpc]}
  text.sentiment: {candidates: [aws], timeout_s: fast}
"""


def test_policy_check_ok(policy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(policy_file)]) == 0
    assert "ok (2 providers" in capsys.readouterr().out


def test_policy_check_names_every_problem_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_POLICY)
    assert main(["policy", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert 'routes."text.sentiment".timeout_s: Expected `float | null`, got `str`' in out


def test_policy_check_reports_unknown_providers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_POLICY.replace("timeout_s: fast", "timeout_s: 2"))
    assert main(["policy", "check", str(bad)]) == 1
    assert "routes.\"vision.*\".candidates[1]: unknown provider 'gpc'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("{kind: aws, regoin: x}", "providers.aws.regoin: unknown key (did you mean 'region'?) (allowed: kind, "),
        ("{kind: aws, timeout_s: soon}", "providers.aws.timeout_s: Expected `float`, got `str`"),
        ("{kind: aws, max_attempts: 0}", "providers.aws: max_attempts must be between 1 and 10"),
        ("{kind: local, url: 3031}", "providers.aws.url: Expected `str | array | null`, got `int`"),
        ('{kind: local, url: ["http://a:1", "a:2"]}', "providers.aws.url[1]: 'a:2' is not a model-server URL"),
    ],
)
def test_policy_check_validates_every_provider_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str, expected: str
) -> None:
    """Each block is checked against its kind's config class, without building a provider."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(f'version: 1\nproviders:\n  aws: {block}\nroutes:\n  "*": {{candidates: [aws]}}\n')
    code = "import sys; from gateway.cli import main; rc = main(['policy', 'check', sys.argv[1]]);"
    code += "assert 'boto3' not in sys.modules, 'the check imported boto3'; sys.exit(rc)"
    done = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert expected in done.stdout


def test_serve_runs_the_gateway(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    cmd = [
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--policy",
        str(policy),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        r = httpx.post(f"http://127.0.0.1:{port}/v1/text/sentiment", json={"text": "Nice"})
        assert r.status_code == 200 and r.json()["result"]["label"] == "positive"
    finally:
        proc.terminate()
        # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why it stopped.
        assert proc.wait(20) in (0, -15)
    with sqlite3.connect(tmp_path / "var" / "requests.db") as db:  # the default sink: SQLite
        assert db.execute("SELECT count(*) FROM request_log").fetchone() == (1,)

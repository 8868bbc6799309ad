"""CI's short soak: ``bench/soak.py`` for 2 minutes on the default config, with the real model
server, a flaky cloud fake, cache hits and batch jobs. It fails (``--check``) when a request got an
error, the log's records differ from the requests and job items answered, the spool is not empty
at the end, a process's RSS grew more than 5 % over the last two thirds of the run, or a process
was left behind. The 30-minute run is the same command with ``--minutes 30`` (README, "Staying up")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from contract_tests.model_server import LOCAL_MODELS

ROOT = Path(__file__).resolve().parents[1]


def test_a_two_minute_soak_loses_no_record_and_stays_flat() -> None:
    if not (LOCAL_MODELS / ".venv" / "bin" / "bentoml").exists():
        pytest.skip("the local model server is not installed: run local_models/setup.sh")
    command = [sys.executable, "bench/soak.py", "--minutes", "2", "--window-s", "20", "--rate", "3", "--check"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=540)
    print(run.stdout)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "stopped: 0 process(es) left behind" in run.stdout

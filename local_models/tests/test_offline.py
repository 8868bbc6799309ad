"""Nothing reaches the network: the server serves every task with no network at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"),
    reason="needs root, unshare and ip to make a network namespace",
)
def test_serves_every_task_without_network(tmp_path: Path) -> None:
    script = f"ip link set lo up && exec {sys.executable} {HERE / 'offline_check.py'} {tmp_path / 'serve.log'}"
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=400, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["interfaces"] == ["lo"]
    failed = {task: r for task, r in report["results"].items() if r[0] != 200}
    assert not failed, failed
    assert report["results"]["speech.synthesize"][1] > 1000
    assert "gato" in report["results"]["text.translate"][1]
    assert "cat" in report["results"]["translate (pivot)"][1].lower()
    assert '"negative"' in report["results"]["sentiment (e5)"][1]

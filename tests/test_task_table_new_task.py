"""A throw-away 14th task, added to the task table alone, shows up on every surface.

The project's packages are copied to a temporary folder and three schema files are
edited there, as a person adding a task would: a ``Task`` member (``tasks.py``), a result
type in ``TaskResult`` (``results.py``) and a row (``table.py``); no other file changes.
A script then runs on that copy against the scripted provider (which answers a task it
does not know with the row's eval short form of its label) and checks REST, the OpenAPI
document, both Python clients, the ``omnisense`` task command, the log record's output
summary and, through pytest, the contract suite's table contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("omnisense", "gateway", "adapters", "policies", "contract_tests")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "test_*.py")

MEMBER = '    SPEECH_TRANSCRIBE = "speech.transcribe"\n'
RESULT = '''

class EchoResult(Result):
    """The throw-away task's answer: the text back, and how long it is."""

    text: str
    length: int


TaskResult = (
    EchoResult
    |'''
ROW = """        TaskSpec(Task.TEXT_ECHO, TEXT, TextRequest, EchoResult, PER_CHAR,
                 lambda r: OutputSummary(top=r.text, items=r.length), answers_audio=False, output=TEXT_OUT,
                 closed_answer=False, agreement=Agreement.CHARS,
                 short_form=ShortForm("text", lambda e: EchoResult(text=e["text"], length=len(e["text"]))),
                 consensus=Consensus.MEDOID_CHRF),
    )
}  # fmt: skip"""

SCRIPT = r'''
import asyncio, contextlib, io, time
from pathlib import Path

import httpx

from gateway.cli import main
from gateway.logs import MemorySink
from gateway.server.openapi import openapi_document
from omnisense.client import AsyncClient, Client
from omnisense.schema import TABLE, Envelope, OutputSummary, Task, TaskResult
from omnisense.schema.results import EchoResult
from tests.conftest import LiveServer, make_config

task = Task("text.echo")
assert TABLE[task].result is EchoResult and EchoResult in TaskResult.__args__
policy = Path("policy.yaml")
policy.write_text("""
version: 1
providers:
  p: {kind: "contract_tests.scripted_provider:ScriptedProvider", label: HI}
routes:
  "*": {candidates: [p]}
""")
sink = MemorySink()
with LiveServer(make_config(policy), sink) as live:
    r = httpx.post(f"{live.url}/v1/text/echo", json={"text": "hi"})  # REST
    assert r.status_code == 200 and r.json()["result"] == {"text": "HI", "length": 2}, r.text
    assert "/v1/text/echo" in openapi_document()["paths"]  # OpenAPI, both the module's and the served one
    assert "/v1/text/echo" in httpx.get(f"{live.url}/schema/openapi.json").json()["paths"]
    with Client(live.url) as omni:  # the sync client
        answer = omni.text.echo("hi")
    assert isinstance(answer, Envelope) and answer.result == EchoResult(text="HI", length=2)

    async def via_async():
        async with AsyncClient(live.url) as omni:
            return await omni.text.echo("hi")

    assert asyncio.run(via_async()).result == EchoResult(text="HI", length=2)  # the async client
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # the omnisense task command
        assert main(["echo", "hi", "--url", live.url, "--json"]) == 0
    assert '"length":2' in out.getvalue().replace(" ", ""), out.getvalue()
    deadline = time.monotonic() + 3
    while len([x for x in sink.records if x.task == "text.echo"]) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    records = [x for x in sink.records if x.task == "text.echo"]
    assert len(records) == 4, records  # the log record, with the row's output summary
    assert all(x.status == "ok" and x.output == OutputSummary(top="HI", items=2) for x in records)
print("every surface")
'''


def _copy(tmp: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp / package, ignore=IGNORE)
    shutil.copy(ROOT / "contract_tests" / "test_scripted.py", tmp / "contract_tests")
    (tmp / "tests").mkdir()
    for name in ("__init__.py", "conftest.py"):
        shutil.copy(ROOT / "tests" / name, tmp / "tests" / name)
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp / name)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name}: {old!r}"
    path.write_text(text.replace(old, new))


def _add_task(tmp: Path) -> None:
    schema = tmp / "omnisense" / "schema"
    _edit(schema / "tasks.py", MEMBER, MEMBER + '    TEXT_ECHO = "text.echo"\n')
    _edit(schema / "results.py", "\n\nTaskResult = (", RESULT)
    _edit(schema / "table.py", "    )\n}  # fmt: skip", ROW)
    _edit(schema / "table.py", "    VideoShotsResult,\n)", "    VideoShotsResult,\n    EchoResult,\n)")


def _run(tmp: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *argv], cwd=tmp, env=env, capture_output=True, text=True, timeout=120)


def test_a_new_row_reaches_every_surface(tmp_path: Path) -> None:
    _copy(tmp_path)
    _add_task(tmp_path)
    done = _run(tmp_path, "-c", SCRIPT)
    assert done.returncode == 0 and "every surface" in done.stdout, done.stdout + done.stderr[-4000:]
    suite = _run(
        tmp_path, "-m", "pytest", "-q", "-p", "no:cacheprovider", "contract_tests/test_scripted.py", "-k", "echo"
    )
    assert suite.returncode == 0 and "1 passed" in suite.stdout, suite.stdout[-4000:] + suite.stderr[-2000:]

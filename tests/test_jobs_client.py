"""``client.jobs`` on both clients against a real gateway over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract_tests.scripted_provider import Hang, ScriptedProvider
from gateway.logs import MemorySink
from omnisense.client import AsyncClient, Client
from omnisense.client.jobs import JobsTimeout
from omnisense.schema import SentimentResult, TranscribeResult, UnprocessableInput
from omnisense.schema.jobs import JobView
from tests.conftest import LiveServer
from tests.jobs_helpers import job_config, wav


@pytest.fixture
def server(policy_file: Path, sink: MemorySink) -> Iterator[LiveServer]:
    with LiveServer(job_config(policy_file), sink) as live:
        yield live


def primary(server: LiveServer) -> ScriptedProvider:
    found: Any = server.app.state.runtime.providers["primary"]
    return found  # type: ignore[no-any-return]


def test_submit_wait_and_typed_envelopes_on_the_sync_client(server: LiveServer, tmp_path: Path) -> None:
    seen: list[JobView] = []
    with Client(server.url) as omni:
        job = omni.jobs.submit("text.sentiment", "What a lovely day")
        assert job.status == "queued"
        done = omni.jobs.wait(job.id, poll=0.05, on_update=seen.append)
        envelope = done.envelope()
        assert envelope is not None and isinstance(envelope.result, SentimentResult)
        assert envelope.result.label == "positive" and seen[-1].status == "succeeded"
        audio = tmp_path / "talk.wav"
        audio.write_bytes(wav(3.0))
        upload = omni.jobs.wait(omni.jobs.submit("speech.transcribe", str(audio)).id, poll=0.05)
        heard = upload.envelope()
        assert heard is not None and isinstance(heard.result, TranscribeResult) and heard.usage.units == 3.0
        batch = omni.jobs.wait(omni.jobs.submit("text.language", inputs=["Hello", {"text": "Hola"}]).id, poll=0.05)
        assert batch.batch and [r.status for r in batch.results or []] == ["succeeded", "succeeded"]
        assert batch.envelope(1) is not None
        assert {j.id for j in omni.jobs.list(status="succeeded")} == {job.id, upload.id, batch.id}
        with pytest.raises(UnprocessableInput, match=r"^input: ") as bad:
            omni.jobs.submit("text.sentiment", "  ")
        assert bad.value.field is not None and bad.value.field.startswith("input")
        with pytest.raises(ValueError, match="not a valid Task"):
            omni.jobs.submit("text.sentimnt", "x")


def test_wait_gives_up_and_cancel_stops_on_the_async_client(server: LiveServer) -> None:
    primary(server).script(Hang())

    async def run() -> None:
        async with AsyncClient(server.url) as omni:
            job = await omni.jobs.submit("text.sentiment", "Slow")
            with pytest.raises(JobsTimeout) as info:
                await omni.jobs.wait(job.id, timeout=0.3, poll=0.05)
            assert info.value.job.status in ("queued", "running")
            stopped = await omni.jobs.cancel(job.id)
            assert stopped.status == "cancelled"
            assert (await omni.jobs.get(job.id)).status == "cancelled"
            again = await omni.jobs.submit("text.sentiment", "Fast")
            done = await omni.jobs.wait(again.id, poll=0.05)
            assert done.status == "succeeded"

    asyncio.run(run())


def test_the_jobs_command(server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main

    audio = tmp_path / "a.wav"
    audio.write_bytes(wav(2.0))
    assert main(["jobs", "--url", server.url, "submit", "speech.transcribe", str(audio), "--wait"]) == 0
    out = capsys.readouterr().out
    assert "speech.transcribe succeeded (1/1 done, attempts 1)" in out and '"text": "primary"' in out
    assert main(["jobs", "--url", server.url, "--json", "submit", "text.sentiment", "good", "bad"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["batch"] and job["items"] == 2
    assert main(["jobs", "--url", server.url, "wait", job["id"]]) == 0
    assert "[1] succeeded" in capsys.readouterr().out
    assert main(["jobs", "--url", server.url, "status", job["id"]]) == 0
    assert main(["jobs", "--url", server.url, "list", "--status", "succeeded"]) == 0
    assert job["id"] in capsys.readouterr().out
    assert main(["jobs", "--url", server.url, "submit", "speech.transcribe", str(tmp_path / "missing.wav")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["jobs", "--url", server.url, "cancel", job["id"]]) == 2
    assert "already succeeded" in capsys.readouterr().err

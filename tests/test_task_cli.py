"""The task CLI against a live gateway on scripted providers: one command per task of the
table, tables and --json, stdin, audio out and in, batches with a summary, errors, keys."""

from __future__ import annotations

import io
import json
import sys
import wave
from pathlib import Path

import httpx
import msgspec
import pytest
from PIL import Image

from contract_tests.scripted_provider import Fail
from gateway.cli import main, parser
from gateway.logs import MemorySink
from gateway.server.config import ApiKey, hash_key
from gateway.task_cli.commands import task_commands
from omnisense.schema import TABLE, Envelope, SentimentResult, UpstreamUnavailable
from tests.conftest import LiveServer, free_port, make_config

Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def photo(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    Image.new("RGB", size, "teal").save(path, format="PNG")
    return path


def test_every_task_of_the_table_has_a_command() -> None:
    commands = task_commands()
    assert sorted(c.task for c in commands.values()) == sorted(TABLE)
    named = ["labels", "objects", "faces", "ocr", "moderate", "sentiment", "entities", "key-phrases", "language",
             "translate", "say", "transcribe"]  # fmt: skip
    assert set(named) <= set(commands)
    assert commands["moderate"].task == "vision.moderation" and commands["moderate-text"].task == "text.moderation"
    args = parser().parse_args(["translate", "Hola", "--to", "en", "--from", "es", "-p", "secondary"])
    assert (args.target_language, args.source_language, args.provider) == ("en", "es", "secondary")
    with pytest.raises(SystemExit):  # translate needs its target language
        parser().parse_args(["translate", "Hola"])


def test_sentiment_prints_a_table_and_logs_one_request(live: LiveServer, sink: MemorySink, capsys: Capture) -> None:
    code, out, _ = run(capsys, "sentiment", "What", "a", "lovely", "day", "--url", live.url)
    assert code == 0
    assert "text.sentiment by primary (scripted-1)" in out
    assert "label: positive" in out and "positive=0.900" in out
    request_id = out.split("[", 1)[1].split("]", 1)[0]
    logs = httpx.get(f"{live.url}/v1/logs", params={"request_id": request_id}).json()["records"]
    assert [r["input"]["characters"] for r in logs] == [len("What a lovely day")]


def test_json_prints_the_envelope_and_the_url_comes_from_the_environment(
    live: LiveServer, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNISENSE_URL", live.url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("Lovely weather today\n"))
    code, out, _ = run(capsys, "sentiment", "-", "--json")
    assert code == 0
    envelope = msgspec.json.decode(out, type=Envelope[SentimentResult])
    assert envelope.result.label == "positive" and envelope.usage.units == len("Lovely weather today\n")


def test_translate_pin_and_options(live: LiveServer, capsys: Capture) -> None:
    code, out, _ = run(capsys, "translate", "Good morning", "--to", "es", "-p", "secondary", "--url", live.url)
    assert code == 0
    assert "text.translate by secondary" in out and "text: [es] Good morning" in out and "target_language: es" in out


def test_say_writes_the_audio_and_transcribe_reads_it(live: LiveServer, capsys: Capture, tmp_path: Path) -> None:
    out_file = tmp_path / "hello.wav"
    code, out, _ = run(capsys, "say", "Hello", "-o", str(out_file), "--url", live.url)
    assert code == 0 and out_file.read_bytes().startswith(b"RIFF")
    assert f"wrote {out_file.stat().st_size} bytes to {out_file}" in out
    assert "speech.synthesize by primary" in out and "$0.010000" in out  # 5 characters at $0.002

    speech = tmp_path / "speech.wav"
    with wave.open(str(speech), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\x00\x00" * 8000)
    code, out, _ = run(capsys, "transcribe", str(speech), "--url", live.url)
    assert code == 0 and "speech.transcribe by primary" in out and "0.5 second" in out and "text: primary" in out


def test_labels_on_one_photo_shows_the_items(live: LiveServer, capsys: Capture, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "labels", str(photo(tmp_path / "p.png")), "--url", live.url, "--max-results", "3")
    assert code == 0
    assert "image: width=64 height=48" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["name", "confidence"])
    assert lines[header + 2].split() == ["primary", "0.900"]


def test_a_directory_runs_as_a_batch_with_a_summary(live: LiveServer, capsys: Capture, tmp_path: Path) -> None:
    for i in range(3):
        photo(tmp_path / f"p{i}.png", (40 + i, 30))
    (tmp_path / "notes.md").write_text("not a photo")  # a directory takes image files only
    code, out, err = run(capsys, "labels", str(tmp_path), "--url", live.url)
    assert code == 0
    assert "3/3" in err  # the progress bar
    rows = [line.split() for line in out.splitlines() if line.startswith(str(tmp_path))]
    assert [(Path(r[0]).name, r[1], r[2]) for r in rows] == [(f"p{i}.png", "ok", "primary") for i in range(3)]
    assert "3 ok, 0 failed, cost $0.006000" in out


def test_a_glob_batch_reports_failures_and_exits_1(live: LiveServer, capsys: Capture, tmp_path: Path) -> None:
    photo(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"%PDF-1.7 not an image")
    code, out, err = run(capsys, "objects", str(tmp_path / "*.png"), "--url", live.url, "--json")
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["task"] == "vision.objects" and lines[0]["provider"] == "primary"
    assert lines[1]["input"].endswith("b.png") and lines[1]["status"] == 415
    assert lines[1]["error"] == "Unsupported media type"
    assert "1 ok, 1 failed, cost $0.002000" in err  # with --json the summary goes to stderr


def test_text_files_run_as_a_batch(live: LiveServer, capsys: Capture, tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("Ada Lovelace wrote programs")
    (tmp_path / "two.txt").write_text("Grace Hopper wrote compilers")
    code, out, _ = run(capsys, "entities", "-f", str(tmp_path), "--url", live.url)
    assert code == 0 and "2 ok, 0 failed" in out
    assert "text.entities" not in out and "1 items" in out  # one row per file, the answer's summary


def test_problems_exit_non_zero_with_their_title(live: LiveServer, capsys: Capture) -> None:
    code, _, err = run(capsys, "sentiment", " ", "--url", live.url)
    assert code == 1 and "omnisense sentiment: Unprocessable input:" in err and "(request " in err
    primary, secondary = (live.app.state.runtime.providers[n] for n in ("primary", "secondary"))
    # Two tries per provider, and the client sends a retryable failure twice more: nine attempts fail.
    primary.script(*[Fail(UpstreamUnavailable)] * 6)
    secondary.script(*[Fail(UpstreamUnavailable)] * 6)
    code, _, err = run(capsys, "key-phrases", "Hello there", "--url", live.url)
    assert code == 1 and "omnisense key-phrases: The provider is unavailable:" in err
    code, _, err = run(capsys, "faces", "/no/such/photo.png", "--url", live.url)
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "language", "Bonjour", "--url", f"http://127.0.0.1:{free_port()}")
    assert code == 2 and "cannot reach the gateway" in err


def test_keys_come_from_the_environment(policy_file: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [ApiKey(id="app", sha256=hash_key("cli-secret"))]
    with LiveServer(make_config(policy_file, keys=keys), MemorySink()) as server:
        code, _, err = run(capsys, "sentiment", "Nice", "--url", server.url)
        assert code == 1 and "Unauthorized" in err
        monkeypatch.setenv("OMNISENSE_API_KEY", "cli-secret")
        code, out, _ = run(capsys, "sentiment", "Nice", "--url", server.url)
        assert code == 0 and "label: positive" in out
        code, _, err = run(capsys, "providers", "--url", server.url)
        assert code == 0


def test_providers_table_and_json(live: LiveServer, capsys: Capture) -> None:
    assert run(capsys, "sentiment", "Nice", "--url", live.url)[0] == 0
    code, out, _ = run(capsys, "providers", "--url", live.url)
    assert code == 0 and out.startswith("policy: policy · state: memory")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:]}
    assert rows["primary"][:3] == ["primary", "scripted", "ok"] and rows["primary"][4] == "closed"
    assert rows["secondary"][5] == "-"  # no latency observed yet
    assert rows["primary"][7] == "undeclared/-"  # a scripted block declares no region: no jurisdiction
    code, out, _ = run(capsys, "providers", "--url", live.url, "--json")
    assert code == 0 and [p["name"] for p in json.loads(out)["providers"]] == ["primary", "secondary"]


def test_say_on_text_files_writes_one_audio_file_each(live: LiveServer, capsys: Capture, tmp_path: Path) -> None:
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text("Hello there")
    (texts / "b.txt").write_text("Good night")
    code, out, _ = run(capsys, "say", "-f", str(texts), "-o", str(tmp_path / "audio"), "--url", live.url)
    assert code == 0 and "2 ok, 0 failed, cost $0.042000" in out  # 21 characters at $0.002
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == ["a.wav", "b.wav"]
    assert all(p.read_bytes().startswith(b"RIFF") for p in (tmp_path / "audio").iterdir())


def test_providers_title_says_when_the_shared_state_is_lost() -> None:
    from gateway.task_cli.providers import state_of

    assert state_of({"backend": "redis", "connected": True}) == "redis"
    assert (
        state_of({"backend": "redis", "connected": False, "down_since_s": 3.5}) == "redis LOST for 3.5 s (local state)"
    )

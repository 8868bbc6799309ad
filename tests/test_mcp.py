"""``omnisense mcp`` end to end: the official ``mcp`` SDK's client lists the tools and calls
them over stdio and streamable HTTP, against the gateway on the real local models."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from gateway.logs import MemorySink
from gateway.server import GatewayConfig
from gateway.server.config import ApiKey, LogSettings, hash_key
from omnisense.client import Client as Omni
from omnisense.schema import Task
from tests.conftest import LiveServer, free_port, wait_for
from tests.readme_examples import run_example
from tests.test_local_e2e import face_and_text

ROOT = Path(__file__).resolve().parent.parent
KEYS = [ApiKey(id="agent", sha256=hash_key("agent-key"))]


@pytest.fixture(scope="module")
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture(scope="module")
def gateway(model_server_url: str, tmp_path_factory: pytest.TempPathFactory, sink: MemorySink) -> Iterator[LiveServer]:
    preset = ROOT / "policies" / "presets" / "local.yaml"
    policy = tmp_path_factory.mktemp("mcp") / "policy.yaml"
    policy.write_text(preset.read_text().replace("{kind: local,", f"{{kind: local, url: '{model_server_url}',"))
    config = GatewayConfig(policy=str(policy), keys=KEYS, logs=LogSettings(sink="none"))
    with LiveServer(config, sink) as server:
        yield server


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "omnisense.cli", "mcp", *args]


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def stdio(gateway: LiveServer, key: str = "agent-key") -> Client:
    cmd = command("--url", gateway.url)
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=environment(OMNISENSE_API_KEY=key), cwd=str(ROOT))
    return Client(params)


async def test_tools_are_the_task_table_with_schemas(gateway: LiveServer) -> None:
    async with stdio(gateway) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert len(tools) == len(Task) and {"text_sentiment", "vision_ocr", "speech_transcribe"} <= tools.keys()
    sentiment = tools["text_sentiment"].input_schema
    assert sentiment["type"] == "object" and "text" in sentiment["required"]
    ocr = tools["vision_ocr"]
    assert ocr.input_schema["properties"]["image"] == {"$ref": "#/$defs/MediaRef"}
    assert set(ocr.input_schema["$defs"]["MediaRef"]["properties"]) == {"base64", "url"}
    assert "base64" in (ocr.description or "")


async def test_sentiment_ocr_and_transcription_over_stdio(gateway: LiveServer, sink: MemorySink) -> None:
    with Omni(gateway.url, api_key="agent-key", timeout=180) as omni:
        wav = omni.speech.synthesize("Hello from the gateway")
    before = len(sink.records)
    async with stdio(gateway) as client:
        mood = await client.call_tool("text_sentiment", {"text": "I love this, it is wonderful!"})
        assert not mood.is_error and mood.structured_content is not None
        assert mood.structured_content["result"]["label"] == "positive"
        assert mood.structured_content["provider"] == "local"
        image = {"base64": base64.b64encode(face_and_text()).decode()}
        read = await client.call_tool("vision_ocr", {"image": image})
        assert not read.is_error and "OMNISENSE" in read.structured_content["result"]["text"].upper()  # type: ignore[index]
        audio = {"base64": base64.b64encode(wav).decode()}
        heard = await client.call_tool("speech_transcribe", {"audio": audio, "language": "en"})
        assert not heard.is_error and "gateway" in heard.structured_content["result"]["text"].lower()  # type: ignore[index]
    assert wait_for(lambda: len([r for r in sink.records[before:] if "dialect: mcp" in r.decisions]) == 3)
    tools_records = [r for r in sink.records[before:] if "dialect: mcp" in r.decisions]
    assert {r.task for r in tools_records} == {"text.sentiment", "vision.ocr", "speech.transcribe"}
    assert {r.key_id for r in tools_records} == {"agent"}


async def test_bad_input_and_a_bad_key_are_tool_errors(gateway: LiveServer) -> None:
    async with stdio(gateway) as client:
        empty = await client.call_tool("text_sentiment", {"text": "   "})
        assert empty.is_error and "text" in empty.content[0].text  # type: ignore[union-attr]
        broken = await client.call_tool("vision_ocr", {"image": {"base64": "not base64!"}})
        assert broken.is_error and "base64" in broken.content[0].text  # type: ignore[union-attr]
        fetched = await client.call_tool("vision_ocr", {"image": {"url": "http://127.0.0.1:9/text.png"}})
        assert fetched.is_error and "does not fetch URLs" in fetched.content[0].text  # type: ignore[union-attr]
    async with stdio(gateway, key="wrong") as client:
        refused = await client.call_tool("text_sentiment", {"text": "hello"})
        assert refused.is_error and "401" in refused.content[0].text  # type: ignore[union-attr]


@pytest.fixture
def mcp_http(gateway: LiveServer) -> Iterator[str]:
    port = free_port()
    cmd = command("--url", gateway.url, "--transport", "http", "--port", str(port))
    process = subprocess.Popen(cmd, env=environment(), cwd=str(ROOT))
    try:
        assert wait_for(lambda: _listening(port), seconds=30)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)
    assert process.poll() is not None  # stopped: nothing left in the process table


def _listening(port: int) -> bool:
    try:
        httpx2.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
    except httpx2.HTTPError:
        return False
    return True


async def test_streamable_http_with_the_callers_key(mcp_http: str) -> None:
    keyed = httpx2.AsyncClient(headers={"Authorization": "Bearer agent-key"}, timeout=120)
    async with keyed, Client(streamable_http_client(mcp_http, http_client=keyed)) as client:
        assert len((await client.list_tools()).tools) == len(Task)
        mood = await client.call_tool("text_sentiment", {"text": "The food was cold and awful."})
        assert not mood.is_error and mood.structured_content["result"]["label"] == "negative"  # type: ignore[index]
    anonymous = httpx2.AsyncClient(timeout=60)
    async with anonymous, Client(streamable_http_client(mcp_http, http_client=anonymous)) as client:
        refused = await client.call_tool("text_sentiment", {"text": "hello"})
        assert refused.is_error and "401" in refused.content[0].text  # type: ignore[union-attr]


def test_the_readme_example(gateway: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISENSE_URL", gateway.url)
    monkeypatch.setenv("OMNISENSE_API_KEY", "agent-key")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the omnisense command runs this checkout
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    printed = run_example("mcp_agent.py").splitlines()
    assert "text_sentiment" in printed[0] and printed[1] == "positive"

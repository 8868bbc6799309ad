"""`local` without a URL: the gateway starts the model server under its reaper, restarts
it (with backoff) when it dies, never adopts a stranger on its port, and leaves no
process behind however it stops (here with a fake model server shaped like BentoML's:
a root owning the socket and workers in sessions of their own)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import psutil
import pytest

from adapters import registry
from adapters.base import PreparesWorkers, Replicated, SupervisesModelServer
from adapters.local.provider import LocalProvider
from adapters.local.supervisor import ModelServer, PortInUse
from contract_tests.fakes import Reply, ScriptedVendor
from tests.conftest import alive, free_port

FAKE = str(Path(__file__).resolve().parent / "faults" / "fake_model_server.py")
ROOT = Path(__file__).resolve().parent.parent


def block(port: int, workers: int = 2) -> dict[str, object]:
    command = [sys.executable, FAKE, str(port), "--workers", str(workers)]
    return {"kind": "local", "port": port, "serve_command": command, "start_timeout_s": 20}


def tree(pid: int) -> set[int]:
    try:
        return {pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))}
    except psutil.Error:
        return set()


def wait_gone(pids: set[int], seconds: float = 20) -> set[int]:
    end = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < end:
        time.sleep(0.1)
    return alive(pids)


async def test_root_killed_alone_restarts_cleanly_and_stops_everything() -> None:
    port = free_port()
    provider = registry.build("local", block(port))
    assert isinstance(provider, LocalProvider)
    await provider.start()
    server = provider._server
    assert server is not None and server.pid is not None
    try:
        assert provider.info.capabilities, "capabilities were read from the started server"
        assert (await provider.probe()).ok
        first = tree(server.pid)
        assert len(first) == 4, "reaper, fake root, two workers"
        fake_root = psutil.Process(server.pid).children()[0].pid
        os.kill(fake_root, signal.SIGKILL)  # the root dies alone: its workers hold the port
        for _ in range(150):
            await asyncio.sleep(0.1)
            if server.restarts == 1 and server.ready:
                break
        assert server.restarts == 1 and server.ready, "restarted on a freed port, not storming"
        assert not alive(first), "the orphaned workers were stopped"
        assert (await provider.probe()).ok
        second = tree(server.pid)
    finally:
        await provider.aclose()
    assert not wait_gone(second), "nothing left behind after stop"


async def test_a_stranger_on_the_port_is_a_clear_error() -> None:
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        server = ModelServer([sys.executable, FAKE, str(port)], f"http://127.0.0.1:{port}", 5)
        with pytest.raises(PortInUse, match=f"port 127.0.0.1:{port} is already in use by pid {os.getpid()}"):
            await server.start()
    assert server.pid is None, "nothing was started"


async def test_restarts_back_off() -> None:
    port = free_port()
    server = ModelServer([sys.executable, "-c", "import sys; sys.exit(3)"], f"http://127.0.0.1:{port}", 1)
    await server.start()
    await asyncio.sleep(3.6)  # exits at once each time: restarts after 1 s, then 2 s
    try:
        assert server.restarts == 2
    finally:
        await server.stop()


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from adapters import registry
    async def main():
        p = registry.build("local", {block!r})
        await p.start()
        print(p._server.pid, flush=True)
        await asyncio.sleep(3600)
    asyncio.run(main())
    """
)


def test_a_killed_gateway_takes_its_model_server_along() -> None:
    port = free_port()
    code = CHILD.format(block=block(port))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    gateway = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert gateway.stdout is not None
        reaper = int(gateway.stdout.readline())
        pids = tree(reaper)
        assert len(pids) == 4
        gateway.kill()  # SIGKILL: no finally, no atexit
        gateway.wait()
        assert not wait_gone(pids), "the reaper stopped the whole tree when the gateway vanished"
    finally:
        gateway.kill()


async def test_the_abilities_the_gateway_asks_for_are_declared_protocols() -> None:
    """``adapters.base``: the gateway asks ``isinstance``, never a kind's name nor ``getattr``."""
    from adapters.oip.provider import OipProvider

    assert isinstance(LocalProvider, PreparesWorkers), "the class: serve asks it before the workers start"
    assert not isinstance(OipProvider, PreparesWorkers)
    provider = registry.build("models", {"kind": "local", "url": "http://127.0.0.1:9"})
    try:
        assert isinstance(provider, Replicated) and isinstance(provider, SupervisesModelServer)
        assert provider.replica_counts() == (1, 1) and provider.model_server_restarts() is None
        assert isinstance(provider, LocalProvider)
        assert LocalProvider.before_workers({"models": provider.config}) is None, "a URL: nothing to start"
    finally:
        await provider.aclose()


@pytest.mark.parametrize(("sig", "workers"), [(signal.SIGTERM, 1), (signal.SIGINT, 1), (signal.SIGTERM, 2)])
def test_serve_stops_the_model_server_on_a_signal(tmp_path: Path, sig: signal.Signals, workers: int) -> None:
    """Also with --workers 2: the workers share the one model server the parent supervises."""
    import yaml

    port, gw_port = free_port(), free_port()
    policy = {"version": 1, "providers": {"local": block(port)}, "routes": {"text.*": {"candidates": ["local"]}}}
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
    (tmp_path / "config.yaml").write_text(f"policy: {tmp_path / 'policy.yaml'}\nlogs: {{sink: none}}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(tmp_path / "config.yaml")]
    stderr = (tmp_path / "stderr.log").open("wb")
    gateway = subprocess.Popen(
        [*argv, "--port", str(gw_port), "--workers", str(workers)], env=env, cwd=tmp_path, stderr=stderr
    )
    try:
        for _ in range(300):
            time.sleep(0.1)
            try:
                if httpx.get(f"http://127.0.0.1:{gw_port}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
        r = httpx.post(f"http://127.0.0.1:{gw_port}/v1/text/sentiment", json={"text": "good"})
        assert r.status_code == 200, r.text
        pids = tree(gateway.pid) - {gateway.pid}
        reapers = [p for p in pids if "reaper.py" in " ".join(psutil.Process(p).cmdline())]
        assert len(reapers) == 1, "one supervised model server, whatever the number of gateway workers"
        assert len(tree(reapers[0])) == 4, "reaper, fake root, two workers"
        gateway.send_signal(sig)
        assert gateway.wait(30) is not None
        assert not wait_gone(pids), "no model-server process left"
        output = (tmp_path / "stderr.log").read_text(errors="replace")
        assert "Fatal Python error" not in output and "Traceback" not in output, output[-2000:]
    finally:
        gateway.kill()
        stderr.close()


def test_serve_refuses_a_port_held_by_a_stranger(tmp_path: Path) -> None:
    import yaml

    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        policy = {"version": 1, "providers": {"local": block(port)}, "routes": {"text.*": {"candidates": ["local"]}}}
        (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "gateway.cli", "serve", "--policy", str(tmp_path / "policy.yaml")]
        done = subprocess.run([*argv, "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"port 127.0.0.1:{port} is already in use" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_stranger_answering_on_the_port_is_never_adopted() -> None:
    """Our server has not bound the port, a stranger listens there: not ours, not ready."""
    port = free_port()
    server = ModelServer([sys.executable, "-c", "import time; time.sleep(60)"], f"http://127.0.0.1:{port}", 1.5)
    await server.start()  # the port is free now: it starts, but never gets ready
    try:
        stranger = ScriptedVendor()
        stranger.port = port
        stranger.start().route("GET", "/readyz", lambda _: Reply(body=b"ok", content_type="text/plain"))
        try:
            async with httpx.AsyncClient() as http:
                assert (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200, "the stranger answers"
            assert not server.owns_port()
            assert not await server.wait_ready()
        finally:
            stranger.stop()
        assert not server.ready
    finally:
        await server.stop()
    assert server.pid is not None and not alive(tree(server.pid))

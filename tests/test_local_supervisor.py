"""`local` without a URL: the gateway starts the model server, restarts it when it
dies, and stops it on shutdown (here with the instant fake model server of bench/)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from adapters import registry
from tests.conftest import free_port

FAKE = str(Path(__file__).resolve().parent.parent / "bench" / "fake_upstream.py")


async def test_model_server_lifecycle() -> None:
    port = free_port()
    block = {"kind": "local", "port": port, "serve_command": [sys.executable, FAKE, str(port)], "start_timeout_s": 20}
    provider = registry.build("local", block)
    await provider.start()
    try:
        assert provider.info.capabilities, "capabilities were read from the started server"
        assert (await provider.probe()).ok
        server = provider._server
        assert server is not None and server._proc is not None
        first_pid = server._proc.pid
        os.killpg(first_pid, signal.SIGKILL)  # the model server dies ...
        for _ in range(100):  # ... and is started again
            await asyncio.sleep(0.1)
            if server._proc.pid != first_pid and (await provider.probe()).ok:
                break
        assert server._proc.pid != first_pid and (await provider.probe()).ok
    finally:
        await provider.aclose()
    assert server._proc.returncode is not None, "stopped on shutdown"
    assert not (await provider.probe()).ok

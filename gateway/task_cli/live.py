"""``omnisense transcribe --live FILE``: the file sent to ``WS /v1/speech/transcribe/stream`` at
real-time pace (as a microphone would), the partials shown in place as they come, each final
printed on its own line with its times and provider, and the session's ``done`` at the end."""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from omnisense.client import AsyncClient
from omnisense.schema import OmnisenseError
from omnisense.schema.streaming import StreamDone, StreamEvent

FRAME_S = 0.1


def add_live_option(parser: argparse.ArgumentParser) -> None:
    live = "stream the file at real-time pace over WS /v1/speech/transcribe/stream, partials as they come"
    parser.add_argument("--live", action="store_true", help=live)
    parser.add_argument("--rate", type=int, default=16000, help="--live with raw PCM: its sample rate (default 16000)")


def transcribe_or_live(run_task: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        return run_live(args) if getattr(args, "live", False) else int(run_task(args))

    return run


def run_live(args: argparse.Namespace, console: Console | None = None) -> int:
    console = console or Console()
    if len(args.inputs) != 1 or args.inputs[0] == "-":
        print("omnisense transcribe --live: give exactly one audio file", file=sys.stderr)
        return 2
    try:
        data = Path(args.inputs[0]).read_bytes()
    except OSError as exc:
        print(f"omnisense transcribe --live: {exc}", file=sys.stderr)
        return 2
    if data[:4] != b"RIFF" and Path(args.inputs[0]).suffix.lower() not in (".pcm", ".raw"):
        print("omnisense transcribe --live: give a WAV file (16-bit mono PCM), or raw 16-bit PCM as .pcm/.raw "
              "with --rate", file=sys.stderr)  # fmt: skip
        return 2
    try:
        return asyncio.run(_session(args, data, console))
    except OmnisenseError as exc:
        console.print(f"[red]{type(exc).__name__}[/red]: {exc.detail}")
        return 1
    except OSError as exc:
        print(f"omnisense transcribe --live: cannot reach the gateway: {exc}", file=sys.stderr)
        return 2


def bytes_per_second(data: bytes, raw_rate: int) -> tuple[str, int]:
    """(encoding, bytes of the file per second of audio): a WAV's from its header, raw PCM's from ``raw_rate``."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        pos = 12
        while pos + 8 <= len(data):
            chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
            if chunk == b"fmt ":
                return "wav", int(struct.unpack_from("<I", data, pos + 16)[0])  # byte rate
            pos += 8 + size + (size & 1)
    return "pcm_s16le", raw_rate * 2


async def paced(data: bytes, per_second: int) -> AsyncIterator[bytes]:
    """``data`` in 100 ms frames, one every 100 ms."""
    step = max(2, int(per_second * FRAME_S) // 2 * 2)
    loop = asyncio.get_running_loop()
    began = loop.time()
    for n, i in enumerate(range(0, len(data), step)):
        await asyncio.sleep(max(0.0, began + n * FRAME_S - loop.time()))
        yield data[i : i + step]


async def _session(args: argparse.Namespace, data: bytes, console: Console) -> int:
    encoding, per_second = bytes_per_second(data, args.rate)
    language = getattr(args, "language", None)
    async with AsyncClient(args.url) as client:
        events = client.transcribe_stream(paced(data, per_second), encoding=encoding,  # type: ignore[arg-type]
                                          sample_rate=args.rate, language=language)  # fmt: skip
        with Live(Text(""), console=console, transient=True, auto_refresh=False) as live:
            async for event in events:
                if isinstance(event, StreamDone):
                    live.update(Text(""), refresh=True)
                    _done(console, event)
                    return 0
                _show(live, console, event)
    return 1


def _show(live: Live, console: Console, event: StreamEvent) -> None:
    if event.type == "partial":
        live.update(Text(f"… {event.text}", style="dim"), refresh=True)
        return
    live.update(Text(""), refresh=True)
    console.print(f"[cyan]{event.start_s:7.2f}-{event.end_s:7.2f}[/cyan] {event.text}  [dim]({event.provider})[/dim]")


def _done(console: Console, done: StreamDone) -> None:
    used = ", ".join(f"{p.provider} {p.audio_s:.1f} s ${p.cost_usd:.6f}" for p in done.providers) or "none"
    console.print(f"[bold]done[/bold]: {done.audio_s:.1f} s of audio, ${done.cost_usd:.6f} ({used}); "
                  f"failovers {done.failovers}; request {done.request_id}")  # fmt: skip

"""The session's two buffers.

``AudioQueue``: audio received and not yet sent to the provider, bounded in seconds. A frame
that finds it full waits (the socket is not read meanwhile: TCP slows the client down); one
that still finds no room after ``backpressure_s`` ends the session with 4013.

``ReplayBuffer``: the audio sent to the serving provider since the last final result, on the
session's time line. A failover replays it to the next provider, so no word is lost; each
final trims it.
"""

from __future__ import annotations

import asyncio
from collections import deque

from gateway.streaming.errors import SessionClosed

END = b""  # queued after the client's ``end``: no more audio


class AudioQueue:
    def __init__(self, max_bytes: int, backpressure_s: float) -> None:
        self.max_bytes = max(max_bytes, 1)
        self.backpressure_s = backpressure_s
        self._items: deque[bytes] = deque()
        self.size = 0
        self._readable = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    async def put(self, pcm: bytes) -> None:
        while self.size + len(pcm) > self.max_bytes and self.size > 0:
            self._room.clear()
            try:
                async with asyncio.timeout(self.backpressure_s):
                    await self._room.wait()
            except TimeoutError:
                raise SessionClosed(4013, "backpressure: audio arrives faster than the provider takes it") from None
        self._push(pcm)

    def close(self) -> None:
        """The client sent ``end``: the reader gets END once the queue is empty."""
        self._push(END)

    def _push(self, pcm: bytes) -> None:
        self._items.append(pcm)
        self.size += len(pcm)
        self._readable.set()

    async def get(self) -> bytes:
        while not self._items:
            self._readable.clear()
            await self._readable.wait()
        pcm = self._items.popleft()
        self.size -= len(pcm)
        if self.size < self.max_bytes:
            self._room.set()
        if pcm is END:
            self._items.appendleft(END)  # every later reader (after a failover) sees the end too
            self.size += len(pcm)
        return pcm


class ReplayBuffer:
    """PCM from session time ``start_s`` onward (16-bit samples at ``rate``)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.start_s = 0.0
        self._chunks: deque[bytes] = deque()
        self._start_sample = 0  # session sample index of the first byte held
        self._held = 0  # samples held

    def append(self, pcm: bytes) -> None:
        self._chunks.append(pcm)
        self._held += len(pcm) // 2

    def snapshot(self) -> list[bytes]:
        return list(self._chunks)

    @property
    def end_s(self) -> float:
        return (self._start_sample + self._held) / self.rate

    def trim_to(self, session_s: float) -> None:
        """Drop what lies before ``session_s`` (a final ended there): it is never replayed."""
        drop = min(round(session_s * self.rate) - self._start_sample, self._held)
        while drop > 0 and self._chunks:
            first = self._chunks[0]
            samples = len(first) // 2
            if samples <= drop:
                self._chunks.popleft()
                taken = samples
            else:
                self._chunks[0] = first[drop * 2 :]
                taken = drop
            drop -= taken
            self._held -= taken
            self._start_sample += taken
        self.start_s = self._start_sample / self.rate

"""When a session moves to a fresh stream of the same provider, before the vendor's cap.

Some vendors end a stream after a fixed time (Google's StreamingRecognize: about 5 minutes;
the stream says so in ``max_audio_s``). A longer session then *rolls over*: the relay finishes
the stream (its last finals come back), opens a new one on the same provider, replays the
audio after the last final and goes on; no error, no failover. From ``SOFT_SHARE`` of the cap
the roll-over waits for a pause, so that no word is cut in two; at ``HARD_SHARE`` it goes
regardless, leaving the vendor time to send its last finals before its own cut.
"""

from __future__ import annotations

import time

SOFT_SHARE = 0.9  # from here: at the first frame of silence
HARD_SHARE = 0.97  # from here: now


class StreamClock:
    """What one provider stream has taken: audio seconds and wall-clock seconds since it opened."""

    def __init__(self, max_s: float | None, rate: int) -> None:
        self.max_s = max_s
        self.bytes_per_s = 2.0 * rate
        self.opened = time.monotonic()
        self.audio_s = 0.0
        self.new_frames = 0  # frames after the replay: a stream takes at least one before it rolls over

    def sent(self, pcm: bytes, *, replayed: bool) -> None:
        self.audio_s += len(pcm) / self.bytes_per_s
        if not replayed:
            self.new_frames += 1

    def roll_over_before(self, pcm: bytes, audible: bool) -> bool:
        """Whether ``pcm`` should go to the next stream rather than to this one."""
        if self.max_s is None or self.new_frames == 0:
            return False
        used = max(self.audio_s, time.monotonic() - self.opened) + len(pcm) / self.bytes_per_s
        return used > self.max_s * HARD_SHARE or (not audible and used >= self.max_s * SOFT_SHARE)

"""The ``local`` provider's policy block."""

from __future__ import annotations

from adapters.kit.config import ProviderConfig


class LocalConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    """``prices`` (e.g. an amortized GPU cost per unit) comes from ProviderConfig."""

    url: str | None = None  # a model server someone else runs; None: start our own
    host: str = "127.0.0.1"
    port: int = 3031
    timeout_s: float = 60.0
    start_timeout_s: float = 180.0
    max_connections: int = 64
    overload_retries: int = 3  # BentoML answers 503 when its queue is full
    transcribe_chunk_s: float = 30.0  # longer WAV audio is transcribed in chunks of this length (long_audio.py)
    serve_command: list[str] | None = None  # how to start the model server (default: local_models/serve.sh)

"""Live transcription: the session engine behind ``WS /v1/speech/transcribe/stream``.

One job per module: ``audio`` (WAV header, PCM checks), ``buffer`` (the bounded queue with
backpressure, the replay buffer), ``meter`` (cost per second of audio under the key's
budget), ``candidates`` (the route's streaming providers, in the policy's order), ``relay``
(one provider stream at a time, failover with replay), ``session`` (a session from its
start message to its close code), ``recording`` (its one log record), ``sessions`` (the
open sessions, closed with 1001 when the gateway stops). The wire contract is
``omnisense.schema.streaming``; ``docs/streaming.md`` says it for humans.
"""

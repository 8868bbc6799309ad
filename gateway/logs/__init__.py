"""The uniform request log: one RequestLog per request, written off the hot path."""

from gateway.logs.record import InputSummary, OutputSummary, RequestLog, ShadowResult
from gateway.logs.sinks import JsonlSink, LogSink, MemorySink
from gateway.logs.writer import LogWriter

__all__ = [
    "InputSummary",
    "JsonlSink",
    "LogSink",
    "LogWriter",
    "MemorySink",
    "OutputSummary",
    "RequestLog",
    "ShadowResult",
]

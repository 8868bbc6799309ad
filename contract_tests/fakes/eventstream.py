"""AWS event-stream framing (``application/vnd.amazon.eventstream``), written from AWS's spec.

A message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), the
headers, the payload, and a CRC32 of everything before it. A header is a 1-byte name length,
the name, a 1-byte type and the value; the types this fake needs are bool true/false (0/1:
no value), bytes (6) and string (7) with a 2-byte length, and timestamp (8: milliseconds as
a signed 64-bit integer). Written here rather than imported from the SDK under test, so the
fake checks what the SDK puts on the wire instead of agreeing with it by construction.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

PRELUDE = 12
_TRUE, _FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIMESTAMP, _UUID = range(10)


class FramingError(ValueError):
    """The bytes are not a well-formed event-stream message (bad length or CRC)."""


@dataclass(frozen=True)
class Message:
    headers: dict[str, Any]
    payload: bytes


def encode(headers: dict[str, Any], payload: bytes) -> bytes:
    """One message; a ``str`` header is a string, ``bytes`` bytes, ``bool`` a bool."""
    head = b"".join(_header(name, value) for name, value in headers.items())
    total = PRELUDE + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def timestamp_header(name: str, millis: int) -> bytes:
    """One header of type timestamp (8), as it is encoded (and signed: ``:date``)."""
    key = name.encode()
    return struct.pack(">B", len(key)) + key + struct.pack(">Bq", _TIMESTAMP, millis)


def _header(name: str, value: Any) -> bytes:
    key = name.encode()
    out = struct.pack(">B", len(key)) + key
    if isinstance(value, bool):
        return out + struct.pack(">B", _TRUE if value else _FALSE)
    if isinstance(value, bytes):
        return out + struct.pack(">BH", _BYTES, len(value)) + value
    text = str(value).encode()
    return out + struct.pack(">BH", _STRING, len(text)) + text


class Decoder:
    """Messages out of a byte stream that arrives in arbitrary pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        out: list[Message] = []
        while len(self._buffer) >= PRELUDE:
            total, head_len, prelude_crc = struct.unpack_from(">III", self._buffer)
            if zlib.crc32(bytes(self._buffer[:8])) != prelude_crc:
                raise FramingError("prelude CRC mismatch")
            if total < PRELUDE + 4 + head_len:
                raise FramingError(f"message length {total} shorter than its headers")
            if len(self._buffer) < total:
                break
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            (message_crc,) = struct.unpack_from(">I", raw, total - 4)
            if zlib.crc32(raw[:-4]) != message_crc:
                raise FramingError("message CRC mismatch")
            headers = _headers(raw[PRELUDE : PRELUDE + head_len])
            out.append(Message(headers, raw[PRELUDE + head_len : -4]))
        return out


def decode(data: bytes) -> Message:
    """Exactly one message (the payload of a signed AudioEvent wrapper is one)."""
    messages = Decoder().feed(data)
    if len(messages) != 1:
        raise FramingError(f"expected one message, found {len(messages)}")
    return messages[0]


def _headers(raw: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    at = 0
    while at < len(raw):
        size = raw[at]
        name = raw[at + 1 : at + 1 + size].decode()
        at += 1 + size
        kind = raw[at]
        at += 1
        value: Any
        if kind in (_TRUE, _FALSE):
            value = kind == _TRUE
        elif kind in (_BYTES, _STRING):
            (length,) = struct.unpack_from(">H", raw, at)
            value = raw[at + 2 : at + 2 + length]
            value = value.decode() if kind == _STRING else value
            at += 2 + length
        elif kind in (_TIMESTAMP, _LONG):
            (value,) = struct.unpack_from(">q", raw, at)
            at += 8
        elif kind == _INT:
            (value,) = struct.unpack_from(">i", raw, at)
            at += 4
        elif kind == _SHORT:
            (value,) = struct.unpack_from(">h", raw, at)
            at += 2
        elif kind == _BYTE:
            (value,) = struct.unpack_from(">b", raw, at)
            at += 1
        elif kind == _UUID:
            value = raw[at : at + 16]
            at += 16
        else:
            raise FramingError(f"unknown header type {kind} for {name!r}")
        headers[name] = value
    return headers
